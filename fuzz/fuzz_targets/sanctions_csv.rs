//! The EU financial sanctions list as CSV (SEC-2), as `ImportSanctionsList` reads it: arbitrary
//! bytes parsed into the list's parties and names, and the names read into the screening index
//! and screened, as the next screening would. A panic is a crash; a refused file is fine.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rti_fuzz::screen_listed;
use rti_intake::domain::sanctions::{self, SanctionsListFormat};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(list) = rti_intake::domain::sanctions_csv::parse(text)
    {
        let _ = list.listed_names().count();
    }
    if let Ok(parsed) = sanctions::parse(SanctionsListFormat::Csv, data) {
        screen_listed(parsed);
    }
});
