//! The size class of a requesting organisation, computed, never typed in: SME category by
//! Recommendation 2003/361/EC (SME-1, SME-2), small mid-cap by Recommendation (EU) 2025/1099
//! (SME-3), and start-up by the operational definition (SME-4). Every conclusion carries the
//! reasons that led to it, with the rule it applies, so a requester can see why.

/// One year's figures of an enterprise, from its last approved accounts. Money in euro cents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Staff headcount in annual work units (part-time and seasonal work count as fractions).
    pub headcount_awu: f64,
    pub turnover_cents: i64,
    pub balance_sheet_cents: i64,
}

impl Figures {
    /// Adds `percent` of `other`, or names the figure whose sum would overflow (never wraps).
    fn add_share(&mut self, other: &Figures, percent: f64) -> Result<(), &'static str> {
        let share = percent / 100.0;
        let headcount_awu = self.headcount_awu + other.headcount_awu * share;
        if !headcount_awu.is_finite() {
            return Err("headcount_awu");
        }
        let turnover_cents = self
            .turnover_cents
            .checked_add(scale(other.turnover_cents, share))
            .ok_or("turnover_eur_cents")?;
        let balance_sheet_cents = self
            .balance_sheet_cents
            .checked_add(scale(other.balance_sheet_cents, share))
            .ok_or("balance_sheet_eur_cents")?;
        *self = Figures {
            headcount_awu,
            turnover_cents,
            balance_sheet_cents,
        };
        Ok(())
    }
}

/// Aggregating the figures overflowed at a holding (its position) and figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateOverflow {
    pub holding: usize,
    pub figure: &'static str,
}

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn scale(cents: i64, share: f64) -> i64 {
    (cents as f64 * share).round() as i64
}

/// Investors whose holding of 25 % to 50 % leaves the enterprise autonomous (SME-2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExemptInvestor {
    /// Public investment corporation, venture capital firm or business angel, while its total
    /// investment in the enterprise is below EUR 1.25 M.
    RiskCapital {
        invested_cents: i64,
    },
    UniversityOrNonProfitResearchCentre,
    InstitutionalInvestor,
    /// An autonomous local authority with a budget below EUR 10 M and fewer than 5,000 inhabitants.
    LocalAuthority {
        annual_budget_cents: i64,
        inhabitants: u32,
    },
}

const RISK_CAPITAL_CEILING_CENTS: i64 = 125_000_000;
const LOCAL_AUTHORITY_BUDGET_CEILING_CENTS: i64 = 1_000_000_000;
const LOCAL_AUTHORITY_INHABITANTS_CEILING: u32 = 5_000;

impl ExemptInvestor {
    /// Whether the investor's conditions hold, and why not when they do not.
    fn qualifies(self) -> Result<(), &'static str> {
        match self {
            Self::RiskCapital { invested_cents } if invested_cents >= RISK_CAPITAL_CEILING_CENTS => {
                Err("its total investment is EUR 1.25 M or more")
            }
            Self::LocalAuthority {
                annual_budget_cents,
                inhabitants,
            } if annual_budget_cents >= LOCAL_AUTHORITY_BUDGET_CEILING_CENTS
                || inhabitants >= LOCAL_AUTHORITY_INHABITANTS_CEILING =>
            {
                Err("its budget is EUR 10 M or more, or it has 5,000 inhabitants or more")
            }
            _ => Ok(()),
        }
    }
}

/// A holding between the enterprise and another one, in either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    /// The other enterprise, as the requester names it.
    pub name: String,
    pub figures: Figures,
    /// The larger of the capital and voting-rights shares, in percent.
    pub share_percent: f64,
    /// Control without a majority share: majority of votes by agreement, the right to appoint
    /// or remove most of the board, or dominant influence.
    pub control: bool,
    /// When the other enterprise is an investor of a kind that may hold 25 % to 50 % without
    /// making a partnership.
    pub exempt_investor: Option<ExemptInvestor>,
}

/// How two enterprises relate (SME-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    Autonomous,
    /// 25 % to 50 %: that share of the partner's figures counts.
    Partner,
    /// More than 50 %, or control: all of the linked enterprise's figures count.
    Linked,
}

impl Holding {
    fn relationship(&self) -> (Relationship, String) {
        let name = &self.name;
        let share = self.share_percent;
        if self.control || share > 50.0 {
            let why = if self.control {
                "controls or is controlled"
            } else {
                "holds more than 50 %"
            };
            return (
                Relationship::Linked,
                format!("SME-2: {name} is linked ({why}); all of its figures count"),
            );
        }
        if share < 25.0 {
            return (
                Relationship::Autonomous,
                format!("SME-2: {name} holds {share} %, below 25 %; none of its figures count"),
            );
        }
        match self.exempt_investor.map(ExemptInvestor::qualifies) {
            Some(Ok(())) => (
                Relationship::Autonomous,
                format!("SME-2: {name} holds {share} % as an exempt investor; none of its figures count"),
            ),
            Some(Err(why)) => (
                Relationship::Partner,
                format!("SME-2: {name} is a partner ({share} %); not an exempt investor because {why}"),
            ),
            None => (
                Relationship::Partner,
                format!("SME-2: {name} is a partner ({share} %); {share} % of its figures count"),
            ),
        }
    }
}

/// What the rules need to know of an organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Enterprise {
    pub figures: Figures,
    pub holdings: Vec<Holding>,
    /// Capital or votes held, directly or jointly, by public bodies, in percent.
    pub public_control_percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SmeCategory {
    Micro,
    Small,
    Medium,
    /// Not an SME.
    None,
}

impl SmeCategory {
    /// The name the category is stored and announced by.
    pub fn as_stored(self) -> &'static str {
        match self {
            SmeCategory::Micro => "SME_CATEGORY_MICRO",
            SmeCategory::Small => "SME_CATEGORY_SMALL",
            SmeCategory::Medium => "SME_CATEGORY_MEDIUM",
            SmeCategory::None => "SME_CATEGORY_NONE",
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        [
            SmeCategory::Micro,
            SmeCategory::Small,
            SmeCategory::Medium,
            SmeCategory::None,
        ]
        .into_iter()
        .find(|category| category.as_stored() == text)
    }
}

/// Ceilings of one size class: headcount is mandatory, then turnover or balance sheet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceilings {
    /// Strictly below.
    pub headcount_awu: f64,
    /// At most.
    pub turnover_cents: i64,
    /// At most.
    pub balance_sheet_cents: i64,
}

impl Ceilings {
    fn admit(&self, figures: &Figures) -> bool {
        figures.headcount_awu < self.headcount_awu
            && (figures.turnover_cents <= self.turnover_cents
                || figures.balance_sheet_cents <= self.balance_sheet_cents)
    }
}

const MILLION_CENTS: i64 = 100_000_000;

/// SME-1: Recommendation 2003/361/EC.
pub const MICRO: Ceilings = Ceilings {
    headcount_awu: 10.0,
    turnover_cents: 2 * MILLION_CENTS,
    balance_sheet_cents: 2 * MILLION_CENTS,
};
pub const SMALL: Ceilings = Ceilings {
    headcount_awu: 50.0,
    turnover_cents: 10 * MILLION_CENTS,
    balance_sheet_cents: 10 * MILLION_CENTS,
};
pub const MEDIUM: Ceilings = Ceilings {
    headcount_awu: 250.0,
    turnover_cents: 50 * MILLION_CENTS,
    balance_sheet_cents: 43 * MILLION_CENTS,
};

/// SME-3: the small mid-cap ceilings, one set per legal source, chosen by configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmallMidCapRule {
    pub source: &'static str,
    pub ceilings: Ceilings,
}

/// Commission Recommendation (EU) 2025/1099 of 21 May 2025, in force.
pub const SMALL_MID_CAP_2025_1099: SmallMidCapRule = SmallMidCapRule {
    source: "Recommendation (EU) 2025/1099",
    ceilings: Ceilings {
        headcount_awu: 750.0,
        turnover_cents: 150 * MILLION_CENTS,
        balance_sheet_cents: 129 * MILLION_CENTS,
    },
};
/// The Omnibus IV proposal of the Council and the Parliament's committees (not adopted).
pub const SMALL_MID_CAP_OMNIBUS_IV: SmallMidCapRule = SmallMidCapRule {
    source: "Omnibus IV proposal",
    ceilings: Ceilings {
        headcount_awu: 1000.0,
        turnover_cents: 200 * MILLION_CENTS,
        balance_sheet_cents: 172 * MILLION_CENTS,
    },
};

/// The size class of an enterprise and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeAssessment {
    pub category: SmeCategory,
    pub small_mid_cap: bool,
    /// Own figures plus partners' shares plus linked enterprises' figures.
    pub aggregated: Figures,
    pub reasons: Vec<String>,
}

/// Classifies an enterprise by SME-1 (ceilings), SME-2 (partners, linked enterprises, public
/// control) and SME-3 (`mid_cap_rule`, the rule set in force by configuration). Figures whose
/// sum overflows are refused, naming the holding that overflowed it.
pub fn assess_size(
    enterprise: &Enterprise,
    mid_cap_rule: SmallMidCapRule,
) -> Result<SizeAssessment, AggregateOverflow> {
    let mut reasons = Vec::new();
    let mut aggregated = enterprise.figures;
    for (position, holding) in enterprise.holdings.iter().enumerate() {
        let (relationship, reason) = holding.relationship();
        let added = match relationship {
            Relationship::Linked => aggregated.add_share(&holding.figures, 100.0),
            Relationship::Partner => aggregated.add_share(&holding.figures, holding.share_percent),
            Relationship::Autonomous => Ok(()),
        };
        added.map_err(|figure| AggregateOverflow {
            holding: position,
            figure,
        })?;
        reasons.push(reason);
    }
    let category = if enterprise.public_control_percent >= 25.0 {
        reasons.push(format!(
            "SME-2: public bodies control {} % of capital or votes, 25 % or more: not an SME",
            enterprise.public_control_percent
        ));
        SmeCategory::None
    } else {
        let category = [
            (SmeCategory::Micro, MICRO),
            (SmeCategory::Small, SMALL),
            (SmeCategory::Medium, MEDIUM),
        ]
        .into_iter()
        .find(|(_, ceilings)| ceilings.admit(&aggregated))
        .map_or(SmeCategory::None, |(category, _)| category);
        reasons.push(format!(
            "SME-1: {:.1} AWU, turnover EUR {}, balance sheet EUR {} (aggregated): {}",
            aggregated.headcount_awu,
            aggregated.turnover_cents / 100,
            aggregated.balance_sheet_cents / 100,
            match category {
                SmeCategory::Micro => "micro enterprise",
                SmeCategory::Small => "small enterprise",
                SmeCategory::Medium => "medium-sized enterprise",
                SmeCategory::None => "above the medium ceilings: not an SME",
            }
        ));
        category
    };
    let small_mid_cap = category == SmeCategory::None
        && enterprise.public_control_percent < 25.0
        && mid_cap_rule.ceilings.admit(&aggregated);
    if small_mid_cap {
        reasons.push(format!("SME-3: a small mid-cap under {}", mid_cap_rule.source));
    }
    Ok(SizeAssessment {
        category,
        small_mid_cap,
        aggregated,
        reasons,
    })
}

/// What SME-4's operational definition looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartUpEvidence {
    /// Whole years since the enterprise was founded.
    pub age_years: u32,
    /// Innovative in technology or business model, with evidence on file.
    pub innovative: bool,
    /// Having or seeking significant growth in staff or revenue, with evidence on file.
    pub growth: bool,
}

/// SME-4: younger than `max_age_years` (configuration; 10 by default, some calls use 5),
/// innovative, and growing. Kept apart from the SME category: a start-up linked to a large group
/// is a start-up and not an SME.
pub fn assess_start_up(evidence: &StartUpEvidence, max_age_years: u32) -> (bool, String) {
    let mut missing = Vec::new();
    if evidence.age_years >= max_age_years {
        missing.push(format!(
            "{} years old, not younger than {max_age_years}",
            evidence.age_years
        ));
    }
    if !evidence.innovative {
        missing.push("no evidence of innovation".to_owned());
    }
    if !evidence.growth {
        missing.push("no evidence of significant growth".to_owned());
    }
    if missing.is_empty() {
        (
            true,
            format!("SME-4: a start-up (younger than {max_age_years} years, innovative, growing)"),
        )
    } else {
        (false, format!("SME-4: not a start-up: {}", missing.join("; ")))
    }
}

#[cfg(test)]
mod tests;
