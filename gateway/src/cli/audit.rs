//! `rti audit verify FILE | --database URL [--anchor SEQUENCE:HASH]…`: recomputes the audit
//! log's hash chain, from an export or from the store itself, checks that it still holds the
//! anchored entries, and names the first broken entry (exit status 1), or prints how many entries
//! it checked and an anchor to keep elsewhere for the next check (exit status 0).

use std::io::BufReader;

use anyhow::{Context, anyhow};

use super::config::AuditVerifyArgs;
use crate::audit::{AuditStore, Verified, verify_export, verify_store};

pub(super) async fn verify(args: AuditVerifyArgs) -> anyhow::Result<()> {
    let verified = match (args.file, args.database) {
        (Some(file), None) => {
            let export = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            verify_export(BufReader::new(export), &args.anchors).with_context(|| file.display().to_string())?
        }
        (None, Some(url)) => {
            // Verifying must not create a log where there was none.
            if let Some(path) = url.sqlite_path().filter(|path| !path.exists()) {
                return Err(anyhow!("no audit log at {}", path.display()));
            }
            let store = AuditStore::open(&url).await.context("cannot open the audit log")?;
            let verified = verify_store(&store, &args.anchors).await;
            store.close().await;
            verified?
        }
        _ => return Err(anyhow!("give either an export FILE or --database URL")),
    };
    println!("{}", summary(&verified));
    Ok(())
}

fn summary(verified: &Verified) -> String {
    match &verified.last {
        Some((sequence, hash)) => format!(
            "audit chain intact: {} entries checked; keep `--anchor {sequence}:{hash}` outside the log to check later that it still holds them",
            verified.entries
        ),
        None => "audit chain intact: no entries".to_owned(),
    }
}
