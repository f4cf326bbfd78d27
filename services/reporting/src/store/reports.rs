//! The rows behind the fixed reports: a grant's researchers and installations tables, an
//! installation's site, and the requests screening held there.

use std::collections::BTreeMap;

use sqlx::Row;

use super::ReportingStore;
use crate::domain::reports::{HeldRequest, InstallationAccess, ResearcherAccess};
use crate::error::ReportingResult;

const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Where an installation is, as reporting knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationSite {
    pub name: String,
    pub infrastructure_id: String,
    pub provider_country: String,
}

impl ReportingStore {
    pub async fn installation_site(&self, installation_id: &str) -> ReportingResult<Option<InstallationSite>> {
        let row = sqlx::query(
            "SELECT installation_name, infrastructure_id, provider_country FROM installation_sites \
             WHERE installation_id = $1",
        )
        .bind(installation_id)
        .fetch_optional(self.database.readers())
        .await?;
        row.map(|row| {
            Ok(InstallationSite {
                name: row.try_get(0)?,
                infrastructure_id: row.try_get(1)?,
                provider_country: row.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Every user's access under the grant's calls in [from, to), per installation, user
    /// project and access mode.
    pub async fn researcher_accesses(&self, grant: &str, from: i64, to: i64) -> ReportingResult<Vec<ResearcherAccess>> {
        let rows = sqlx::query(
            "SELECT f.user_key, MIN(f.org_key), MIN(f.requester_type), MIN(f.home_country), f.installation_id, \
             MIN(COALESCE(s.installation_name, '')), f.request_id, f.access_mode, CAST(SUM(f.units_used) AS BIGINT), \
             CAST(SUM(f.days_on_site) AS BIGINT), CAST(MAX(f.new_user) AS BIGINT), \
             CAST(MIN(f.period_start) AS BIGINT), CAST(MAX(f.period_end) AS BIGINT) \
             FROM usage_records f JOIN requests r ON r.id = f.request_id JOIN calls c ON c.id = r.call_id \
             LEFT JOIN installation_sites s ON s.installation_id = f.installation_id \
             WHERE c.grant_agreement = $1 AND f.period_start >= $2 AND f.period_start < $3 \
             GROUP BY f.user_key, f.installation_id, f.request_id, f.access_mode \
             ORDER BY f.installation_id, f.request_id, f.user_key, f.access_mode",
        )
        .bind(grant)
        .bind(from)
        .bind(to)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ResearcherAccess {
                    user_id: row.try_get(0)?,
                    organisation_id: row.try_get(1)?,
                    organisation_type: row.try_get(2)?,
                    home_country: row.try_get(3)?,
                    installation_id: row.try_get(4)?,
                    installation_name: row.try_get(5)?,
                    request_id: row.try_get(6)?,
                    access_mode: row.try_get(7)?,
                    units_used: row.try_get(8)?,
                    days_on_site: row.try_get(9)?,
                    new_user: row.try_get::<i64, _>(10)? == 1,
                    first_access: row.try_get(11)?,
                    last_access: row.try_get(12)?,
                })
            })
            .collect()
    }

    /// Each installation the grant's calls offer: units offered, and in [from, to) units granted
    /// (by decision), delivered (by slot), used, users, new users and user projects.
    pub async fn installation_accesses(
        &self,
        grant: &str,
        from: i64,
        to: i64,
    ) -> ReportingResult<Vec<InstallationAccess>> {
        let mut lines: BTreeMap<String, InstallationAccess> = BTreeMap::new();
        let offered = sqlx::query(
            "SELECT ci.installation_id, CAST(SUM(ci.units) AS BIGINT), MIN(COALESCE(s.installation_name, '')), \
             MIN(COALESCE(s.infrastructure_id, '')), MIN(COALESCE(s.provider_country, '')) \
             FROM call_installations ci JOIN calls c ON c.id = ci.call_id \
             LEFT JOIN installation_sites s ON s.installation_id = ci.installation_id \
             WHERE c.grant_agreement = $1 GROUP BY ci.installation_id",
        )
        .bind(grant)
        .fetch_all(self.database.readers())
        .await?;
        for row in offered {
            let installation_id: String = row.try_get(0)?;
            lines.insert(
                installation_id.clone(),
                InstallationAccess {
                    installation_id,
                    units_offered: row.try_get(1)?,
                    installation_name: row.try_get(2)?,
                    infrastructure_id: row.try_get(3)?,
                    provider_country: row.try_get(4)?,
                    ..InstallationAccess::default()
                },
            );
        }
        let figures = [
            "SELECT g.installation_id, CAST(SUM(g.units) AS BIGINT), 0, 0, 0, 0 FROM grants g \
             JOIN requests r ON r.id = g.request_id JOIN calls c ON c.id = r.call_id \
             WHERE c.grant_agreement = $1 AND g.decided_at >= $2 AND g.decided_at < $3 GROUP BY g.installation_id",
            "SELECT g.installation_id, CAST(SUM(g.delivered_units) AS BIGINT), 0, 0, 0, 0 FROM slots g \
             JOIN requests r ON r.id = g.request_id JOIN calls c ON c.id = r.call_id \
             WHERE c.grant_agreement = $1 AND g.status = 'delivered' AND g.starts_at >= $2 AND g.starts_at < $3 \
             GROUP BY g.installation_id",
            "SELECT f.installation_id, CAST(SUM(f.units_used) AS BIGINT), COUNT(DISTINCT f.user_key), \
             COUNT(DISTINCT CASE WHEN f.new_user = 1 THEN f.user_key END), COUNT(DISTINCT f.request_id), 0 \
             FROM usage_records f JOIN requests r ON r.id = f.request_id JOIN calls c ON c.id = r.call_id \
             WHERE c.grant_agreement = $1 AND f.period_start >= $2 AND f.period_start < $3 \
             GROUP BY f.installation_id",
        ];
        for (step, sql) in figures.into_iter().enumerate() {
            let rows = sqlx::query(sql)
                .bind(grant)
                .bind(from)
                .bind(to)
                .fetch_all(self.database.readers())
                .await?;
            for row in rows {
                let installation_id: String = row.try_get(0)?;
                let Some(line) = lines.get_mut(&installation_id) else {
                    continue;
                };
                let number = |index: usize| -> ReportingResult<i64> { Ok(row.try_get::<i64, _>(index)?) };
                match step {
                    0 => line.units_granted = number(1)?,
                    1 => line.units_delivered = number(1)?,
                    _ => {
                        line.units_used = number(1)?;
                        line.users = number(2)?;
                        line.new_users = number(3)?;
                        line.user_projects = number(4)?;
                    }
                }
            }
        }
        Ok(lines.into_values().collect())
    }

    /// The requests at an installation, submitted in [from, to), that screening held.
    pub async fn held_requests(&self, installation_id: &str, from: i64, to: i64) -> ReportingResult<Vec<HeldRequest>> {
        let rows = sqlx::query(
            "SELECT r.home_country, COALESCE(i.critical_areas, ''), COALESCE(r.outcome, ''), r.submitted_at, \
             COALESCE(r.screening_until, -1), r.organisation_id, r.request_rkey \
             FROM requests r JOIN request_installations ri ON ri.request_id = r.id \
             LEFT JOIN installations i ON i.id = ri.installation_id \
             WHERE ri.installation_id = $1 AND r.screening_held = 1 AND r.submitted_at >= $2 AND r.submitted_at < $3",
        )
        .bind(installation_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                let areas: String = row.try_get(1)?;
                let outcome: String = row.try_get(2)?;
                let submitted: i64 = row.try_get(3)?;
                let released: i64 = row.try_get(4)?;
                let key: i64 = row.try_get(6)?;
                Ok(HeldRequest {
                    home_country: row.try_get(0)?,
                    technology_areas: areas
                        .split(',')
                        .filter(|area| !area.is_empty())
                        .map(|area| area.trim_start_matches("CRITICAL_TECHNOLOGY_AREA_").to_lowercase())
                        .collect(),
                    declined: outcome == "declined",
                    waited_days: (released >= submitted).then(|| (released - submitted) as f64 / MICROS_PER_DAY),
                    organisation_id: row.try_get(5)?,
                    record_key: u32::try_from(key.rem_euclid(1 << 32)).unwrap_or(0),
                })
            })
            .collect()
    }
}
