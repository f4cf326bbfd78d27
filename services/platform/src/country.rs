//! ISO 3166-1 alpha-2 country codes, with EL and UK accepted as aliases of GR and GB (DESIGN §6).

/// Every officially assigned ISO 3166-1 alpha-2 code (249), from the ISO 3166 data shipped in
/// the `pycountry` package, version 26.2.16.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// Normalises a country code: trims, upper-cases, maps EL → GR and UK → GB, and checks that the
/// result is an assigned ISO 3166-1 alpha-2 code.
pub fn normalize_country(input: &str) -> Result<String, InvalidCountry> {
    let upper = input.trim().to_ascii_uppercase();
    let code = match upper.as_str() {
        "EL" => "GR".to_owned(),
        "UK" => "GB".to_owned(),
        _ => upper,
    };
    if ASSIGNED.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err(InvalidCountry(input.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 3166-1 alpha-2 country code")]
pub struct InvalidCountry(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_codes_in_any_case_and_maps_aliases() {
        assert_eq!(normalize_country("de").as_deref(), Ok("DE"));
        assert_eq!(normalize_country(" EL ").as_deref(), Ok("GR"));
        assert_eq!(normalize_country("uk").as_deref(), Ok("GB"));
    }

    #[test]
    fn rejects_unassigned_and_malformed_codes() {
        for input in ["XX", "EU", "DEU", "", "D"] {
            assert!(normalize_country(input).is_err(), "{input} accepted");
        }
    }

    #[test]
    fn assigned_list_is_sorted_for_binary_search() {
        assert!(ASSIGNED.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
