//! The usage journal (migration 0402): records written one row each before it are moved into
//! it whole — the statistics count them, the view `usage_records` shows them, a retry of one is
//! recognised and other values under its id refused (TA-10).

use rti_platform::db::{Backend, Database, Migrations};
use rti_platform::testing::TestDatabase;
use rti_reporting::domain::disclosure::KeySecret;
use rti_reporting::domain::usage::UsageRecord;
use rti_reporting::store::{RecordOutcome, ReportingStore};
use sqlx::Row;
use sqlx::migrate::Migrator;

use crate::helpers::KEY_SECRET;

rti_platform::backend_tests!(records_written_before_the_journal_are_moved_into_it);

const JOURNAL: i64 = 402;

fn before_the_journal(migrator: &Migrator) -> Migrator {
    Migrator::with_migrations(
        migrator
            .iter()
            .filter(|migration| migration.version < JOURNAL)
            .cloned()
            .collect(),
    )
}

fn legacy(record_id: &str, units_used: i64) -> UsageRecord {
    UsageRecord {
        record_id: record_id.into(),
        request_id: "request-1".into(),
        installation_id: "installation-1".into(),
        slot_id: String::new(),
        user_id: format!("user-of-{record_id}"),
        organisation_id: "organisation-1".into(),
        organisation_type: "sme",
        home_country: "DE".into(),
        period_start: 1_767_225_600_000_000,
        period_end: 1_767_229_200_000_000,
        units_used,
        days_on_site: 1,
        access_mode: "physical",
        eu_funded: false,
        new_user: true,
    }
}

async fn records_written_before_the_journal_are_moved_into_it(backend: Backend) {
    let Some(test_database) = TestDatabase::create(backend).await else {
        return;
    };
    let older = Migrations {
        sqlite: before_the_journal(&sqlx::migrate!("migrations/sqlite")),
        postgres: before_the_journal(&sqlx::migrate!("migrations/postgres")),
    };
    let database = Database::open(&test_database.url, &older, 2)
        .await
        .expect("opens at 0401");
    // Two records from before batches were numbered (batch 0), one in batch 1.
    let records = [(legacy("r-1", 2), 0), (legacy("r-2", 3), 0), (legacy("r-3", 4), 1)];
    let mut transaction = database.begin_write().await.expect("writes");
    sqlx::query("INSERT INTO usage_batches (id, records, recorded_at) VALUES (1, 1, 5)")
        .execute(&mut *transaction)
        .await
        .expect("a batch");
    for (record, batch) in &records {
        sqlx::query(
            "INSERT INTO usage_records (record_id, request_id, installation_id, slot_id, user_key, user_rkey, \
             org_key, org_rkey, group_rkey, home_country, requester_type, access_mode, lane, funding_scheme, \
             eu_funded, new_user, period_start, period_end, month, units_used, days_on_site, fingerprint, \
             recorded_by, recorded_at, batch) VALUES ($1, $2, $3, $4, $5, 11, $6, 12, 13, $7, $8, $9, \
             'industrial', 'market', 0, 1, $10, $11, 202601, $12, 1, $13, 'admin', 5, $14)",
        )
        .bind(&record.record_id)
        .bind(&record.request_id)
        .bind(&record.installation_id)
        .bind(&record.slot_id)
        .bind(&record.user_id)
        .bind(&record.organisation_id)
        .bind(&record.home_country)
        .bind(record.organisation_type)
        .bind(record.access_mode)
        .bind(record.period_start)
        .bind(record.period_end)
        .bind(record.units_used)
        .bind(record.fingerprint().hex())
        .bind(batch)
        .execute(&mut *transaction)
        .await
        .expect("a record as 0401 kept it");
    }
    transaction.commit().await.expect("commits");
    database.close().await;

    let database = Database::open(&test_database.url, rti_reporting::app::SPEC.migrations, 2)
        .await
        .expect("migrates to the journal");
    let shown = sqlx::query(
        "SELECT record_id, batch, units_used, user_rkey, new_user, fingerprint FROM usage_records ORDER BY record_id",
    )
    .fetch_all(database.readers())
    .await
    .expect("the view reads");
    let shown: Vec<(String, i64, i64, i64, i64, String)> = shown
        .iter()
        .map(|row| {
            (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                i64::from(row.get::<i32, _>(4)),
                row.get(5),
            )
        })
        .collect();
    let expected: Vec<(String, i64, i64, i64, i64, String)> = records
        .iter()
        .map(|(record, batch)| {
            (
                record.record_id.clone(),
                *batch,
                record.units_used,
                11,
                1,
                record.fingerprint().hex(),
            )
        })
        .collect();
    assert_eq!(shown, expected, "every record, with its batch and values");

    let store = ReportingStore::open(database, Some(KeySecret::from_bytes(KEY_SECRET)))
        .await
        .expect("opens");
    assert_eq!(
        store.load_usage_facts().await.expect("loads"),
        3,
        "the statistics count all three"
    );
    let retried = store
        .record_usage(&[legacy("r-2", 3), legacy("r-3", 5)], |_| true, "admin")
        .await
        .expect("checks");
    assert_eq!(
        retried.outcomes,
        [RecordOutcome::Unchanged, RecordOutcome::Conflict],
        "a moved record is still known by its id and values"
    );
}
