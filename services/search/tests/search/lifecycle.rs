//! The writer's life cycle: upsert, remove, clear, commit visibility and the cursor across reopens.

use crate::helpers::{cursor, document, id, open, search};
use rti_search::{Document, SearchError, SearchIndex};

#[test]
fn changes_are_invisible_until_commit() {
    let (index, mut writer, cursor_at_open) = open(None);
    assert_eq!(cursor_at_open, None);
    writer.upsert(&document(1, "Laser Lab", "laser")).expect("indexed");
    assert_eq!(index.document_count(), 0);
    writer.commit(&cursor(1)).expect("commit");
    assert_eq!(index.document_count(), 1);
    assert_eq!(search(&index, "laser"), [id(1)]);
}

#[test]
fn upsert_replaces_the_document_with_the_same_id() {
    let (index, mut writer, _) = open(None);
    writer.upsert(&document(1, "Laser Lab", "laser")).expect("indexed");
    writer.commit(&cursor(1)).expect("commit");
    writer
        .upsert(&document(1, "Tribology Lab", "friction"))
        .expect("indexed");
    // Twice in one commit: the last version wins.
    writer
        .upsert(&document(1, "Tribology Lab", "wear and friction"))
        .expect("indexed");
    writer.commit(&cursor(2)).expect("commit");
    assert_eq!(index.document_count(), 1);
    assert!(search(&index, "laser").is_empty());
    assert_eq!(search(&index, "wear"), [id(1)]);
}

#[test]
fn remove_deletes_the_document_with_that_id_only() {
    let (index, mut writer, _) = open(None);
    writer.upsert(&document(1, "Laser Lab", "laser")).expect("indexed");
    writer.upsert(&document(2, "Laser Hall", "laser")).expect("indexed");
    writer.commit(&cursor(1)).expect("commit");
    writer.remove(&id(1)).expect("removed");
    writer.remove(&id(42)).expect("removing an unknown id is a no-op");
    writer.commit(&cursor(2)).expect("commit");
    assert_eq!(search(&index, "laser"), [id(2)]);
}

#[test]
fn clear_removes_committed_and_pending_documents_but_keeps_later_upserts() {
    let (index, mut writer, _) = open(None);
    writer.upsert(&document(1, "Laser Lab", "laser")).expect("indexed");
    writer.commit(&cursor(1)).expect("commit");
    writer.upsert(&document(2, "Laser Hall", "laser")).expect("indexed");
    writer.clear().expect("cleared");
    writer.upsert(&document(3, "Laser Room", "laser")).expect("indexed");
    writer.commit(&cursor(2)).expect("commit");
    assert_eq!(search(&index, "laser"), [id(3)]);
    assert_eq!(index.document_count(), 1);
}

#[test]
fn the_commit_cursor_and_documents_survive_a_reopen_on_disk() {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let (_, mut writer, cursor_at_open) = open(Some(dir.path()));
        assert_eq!(cursor_at_open, None, "a new index has no cursor");
        writer.upsert(&document(1, "Laser Lab", "laser")).expect("indexed");
        writer.commit(&cursor(7)).expect("commit");
        writer.upsert(&document(2, "Laser Hall", "laser")).expect("indexed");
        writer.commit(&cursor(8)).expect("commit");
        // Not committed: lost with the writer.
        writer.upsert(&document(3, "Laser Room", "laser")).expect("indexed");
    }
    let (index, _writer, cursor_at_open) = open(Some(dir.path()));
    assert_eq!(cursor_at_open, Some(cursor(8)));
    assert_eq!(search(&index, "laser"), [id(1), id(2)]);
}

#[test]
fn an_uncommitted_index_on_disk_reopens_as_new() {
    let dir = tempfile::tempdir().expect("temporary directory");
    drop(open(Some(dir.path())));
    let (index, _writer, cursor_at_open) = open(Some(dir.path()));
    assert_eq!(cursor_at_open, None);
    assert_eq!(index.document_count(), 0);
}

#[test]
fn rejects_documents_without_id_or_with_a_trl_range_outside_one_to_nine() {
    let (_, mut writer, _) = open(None);
    let invalid_documents = [
        Document::default(),
        Document {
            trl: Some((0, 3)),
            ..document(1, "Lab", "")
        },
        Document {
            trl: Some((5, 4)),
            ..document(1, "Lab", "")
        },
        Document {
            trl: Some((8, 10)),
            ..document(1, "Lab", "")
        },
    ];
    for invalid in invalid_documents {
        let error = writer.upsert(&invalid).expect_err("document rejected");
        assert!(matches!(error, SearchError::InvalidDocument { .. }), "{error:?}");
    }
    let edge = Document {
        trl: Some((9, 9)),
        ..document(1, "Lab", "")
    };
    writer.upsert(&edge).expect("TRL 9..=9 is valid");
}

#[test]
fn the_read_side_is_shareable_and_the_writer_movable_across_threads() {
    fn clone_send_sync<T: Clone + Send + Sync>() {}
    fn send<T: Send>() {}
    clone_send_sync::<SearchIndex>();
    send::<rti_search::IndexWriter>();
}
