//! The de minimis ledger per single undertaking (SA-6): aid granted here when a discounted quote
//! is accepted, and aid the organisation declared it received elsewhere.

use rti_platform::db::WriteTx;
use rti_platform::ids::new_id;
use sqlx::Row;

use super::IntakeStore;
use crate::domain::aid::{
    AidGrant, DE_MINIMIS_CEILING_EUR_CENTS, DE_MINIMIS_WINDOW_MICROS, DeMinimisStatement, check_de_minimis,
};
use crate::domain::organisation::DeclaredAid;
use crate::domain::request::AccessRequest;
use crate::domain::{IntakeError, IntakeResult};

/// The granting authority and legal basis recorded for aid granted through RTI Access.
const GRANTED_HERE: (&str, &str) = ("the access provider, through RTI Access", "Regulation (EU) 2023/2831");

/// The aid in a window, each grant counted up to the ceiling ($4): the headroom is the same
/// (one grant at the ceiling leaves none), and the sum cannot overflow whatever was declared.
const GRANTED_IN_WINDOW: &str = "SELECT CAST(COALESCE(SUM(CASE WHEN amount_eur_cents > $4 THEN $4 \
     ELSE amount_eur_cents END), 0) AS BIGINT) FROM de_minimis_aid \
     WHERE organisation_id = $1 AND granted_at > $2 AND granted_at <= $3";

impl IntakeStore {
    /// De minimis aid the organisation received in the three years before `at`.
    pub async fn de_minimis_granted(&self, organisation_id: &str, at: i64) -> IntakeResult<i64> {
        let row = sqlx::query(GRANTED_IN_WINDOW)
            .bind(organisation_id)
            .bind(at - DE_MINIMIS_WINDOW_MICROS)
            .bind(at)
            .bind(DE_MINIMIS_CEILING_EUR_CENTS)
            .fetch_one(self.database.readers())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The grants in the three years before `at`, oldest first (SA-6).
    pub async fn de_minimis_statement(&self, organisation_id: &str, at: i64) -> IntakeResult<DeMinimisStatement> {
        let rows = sqlx::query(
            "SELECT access_request_id, amount_eur_cents, granted_at, granting_authority, legal_basis \
             FROM de_minimis_aid WHERE organisation_id = $1 AND granted_at > $2 AND granted_at <= $3 \
             ORDER BY granted_at, id",
        )
        .bind(organisation_id)
        .bind(at - DE_MINIMIS_WINDOW_MICROS)
        .bind(at)
        .fetch_all(self.database.readers())
        .await?;
        let mut granted = 0_i64;
        let mut grants = Vec::with_capacity(rows.len());
        for row in &rows {
            let amount: i64 = row.try_get(1)?;
            granted = i64::saturating_add(granted, amount);
            grants.push(AidGrant {
                access_request_id: row.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                amount_eur_cents: amount,
                grant_time: row.try_get(2)?,
                granting_authority: row.try_get(3)?,
                legal_basis: row.try_get(4)?,
            });
        }
        Ok(DeMinimisStatement {
            organisation_id: organisation_id.to_owned(),
            as_of: at,
            granted_eur_cents: granted,
            grants,
        })
    }
}

/// Records aid granted here in the ledger, checked against the ceiling with the organisation's
/// row locked (SA-6).
pub(super) async fn record_aid(
    transaction: &mut WriteTx,
    request: &AccessRequest,
    aid: i64,
    at: i64,
    lock: &str,
) -> IntakeResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM organisations WHERE id = $1{lock}"
    )))
    .bind(&request.organisation_id)
    .fetch_one(&mut **transaction)
    .await?;
    let granted: i64 = sqlx::query(GRANTED_IN_WINDOW)
        .bind(&request.organisation_id)
        .bind(at - DE_MINIMIS_WINDOW_MICROS)
        .bind(at)
        .bind(DE_MINIMIS_CEILING_EUR_CENTS)
        .fetch_one(&mut **transaction)
        .await?
        .try_get(0)?;
    check_de_minimis(granted, aid).map_err(IntakeError::FailedPrecondition)?;
    let (authority, basis) = GRANTED_HERE;
    sqlx::query(
        "INSERT INTO de_minimis_aid (id, organisation_id, access_request_id, granted_at, amount_eur_cents, \
         granting_authority, legal_basis) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(&request.organisation_id)
    .bind(&request.id)
    .bind(at)
    .bind(aid)
    .bind(authority)
    .bind(basis)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Declared aid, stored with the organisation's registration.
pub(super) async fn insert_declared_aid(
    transaction: &mut WriteTx,
    organisation_id: &str,
    grant: &DeclaredAid,
    granted_at: i64,
) -> IntakeResult<()> {
    sqlx::query(
        "INSERT INTO de_minimis_aid (id, organisation_id, access_request_id, granted_at, amount_eur_cents, \
         granting_authority, legal_basis) VALUES ($1, $2, NULL, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(organisation_id)
    .bind(granted_at)
    .bind(grant.amount_eur_cents)
    .bind(&grant.granting_authority)
    .bind("declared by the undertaking (Regulation (EU) 2023/2831)")
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
