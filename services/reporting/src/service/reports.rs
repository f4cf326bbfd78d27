//! The fixed reports: a grant's EC "Infrastructures" tables (KPI-1, TA-10) and an installation's
//! key figures with the transparency figures (KPI-4, SEC-x).

use rti_platform::auth::{Principal, Role};

use super::{ReportingService, StatisticsRow};
use crate::domain::query::{Scope, StatisticsQuery};
use crate::domain::reports::{InstallationAccess, ResearcherAccess, ScreeningFigure, screening_figures};
use crate::domain::{Dimension, Measure};
use crate::error::{ReportingError, ReportingResult};
use crate::store::InstallationSite;

/// A grant's tables for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct InfrastructuresTables {
    pub researchers: Vec<ResearcherAccess>,
    pub installations: Vec<InstallationAccess>,
}

/// An installation's key figures over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallationKpis {
    pub site: InstallationSite,
    pub totals: Option<StatisticsRow>,
    pub by_funding_scheme: Vec<StatisticsRow>,
    pub by_home_country: Vec<StatisticsRow>,
    pub by_requester_type: Vec<StatisticsRow>,
    pub screening: Vec<ScreeningFigure>,
}

impl ReportingService {
    /// The EC's tables of a grant: for the admin, a coordinator, or an EC funder. The
    /// researchers table lists pseudonymous users one by one, so no national funder gets it.
    pub async fn infrastructures_tables(
        &self,
        caller: &Principal,
        grant: &str,
        from: i64,
        to: i64,
    ) -> ReportingResult<InfrastructuresTables> {
        let allowed =
            caller.is_admin() || caller.has_role(Role::Coordinator) || (caller.has_role(Role::Funder) && caller.eu);
        if !allowed {
            return Err(ReportingError::PermissionDenied(
                "the EC's tables are for the admin, a coordinator or an EC funder".into(),
            ));
        }
        Ok(InfrastructuresTables {
            researchers: self.store.researcher_accesses(grant, from, to).await?,
            installations: self.store.installation_accesses(grant, from, to).await?,
        })
    }

    /// An installation's key figures: for its operator, a funder of its provider's country or
    /// the EC, or the admin. Every figure is protected as statistics are.
    pub async fn installation_kpis(
        &self,
        caller: &Principal,
        installation_id: &str,
        from: i64,
        to: i64,
    ) -> ReportingResult<InstallationKpis> {
        let site = self.store.installation_site(installation_id).await?.ok_or_else(|| {
            ReportingError::NotFound(format!("installation {installation_id} is not known to reporting"))
        })?;
        let allowed = caller.is_admin()
            || caller.operates(&site.infrastructure_id)
            || (caller.has_role(Role::Funder)
                && (caller.eu || caller.country.as_deref() == Some(&site.provider_country)));
        if !allowed {
            return Err(ReportingError::PermissionDenied(format!(
                "the figures of installation {installation_id} are for its operator, its country's funder, the EC and the admin"
            )));
        }
        let query = |group_by: Vec<Dimension>, measures: Vec<Measure>| StatisticsQuery {
            group_by,
            measures,
            from,
            to,
            filters: [(Dimension::Installation, vec![installation_id.to_owned()])].into(),
        };
        let every_measure: Vec<Measure> = Measure::ALL
            .into_iter()
            .filter(|measure| *measure != Measure::UsersPer1000Researchers)
            .collect();
        let usage = vec![Measure::UnitsUsed, Measure::Users];
        let totals = self
            .statistics_in(&Scope::Everything, &query(Vec::new(), every_measure))
            .await?
            .next();
        Ok(InstallationKpis {
            totals,
            by_funding_scheme: self
                .statistics_in(
                    &Scope::Everything,
                    &query(vec![Dimension::FundingScheme], usage.clone()),
                )
                .await?
                .collect(),
            by_home_country: self
                .statistics_in(
                    &Scope::Everything,
                    &query(
                        vec![Dimension::HomeCountry],
                        vec![Measure::Users, Measure::UsersPer1000Researchers],
                    ),
                )
                .await?
                .collect(),
            by_requester_type: self
                .statistics_in(&Scope::Everything, &query(vec![Dimension::RequesterType], usage))
                .await?
                .collect(),
            screening: screening_figures(&self.store.held_requests(installation_id, from, to).await?, &self.rules),
            site,
        })
    }
}
