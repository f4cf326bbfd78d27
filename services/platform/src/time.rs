//! Time as the stores keep it (UTC microseconds since the Unix epoch, in a BIGINT) and as the
//! wire carries it (`google.protobuf.Timestamp`).

use rti_proto::pbjson_types::Timestamp;

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

pub fn timestamp_from_micros(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or_default(),
    }
}

/// A timestamp beyond what microseconds in an i64 hold (about 292,000 years either side of
/// 1970) is clamped to the first or last of them.
pub fn micros_from_timestamp(timestamp: &Timestamp) -> i64 {
    // Summed in i128, then clamped: saturating the seconds before adding the nanos read the
    // earliest time, written as a timestamp, back as 224,192 µs later, so a stored record
    // changed each time it was read and written (found by `fuzz/`).
    let micros = i128::from(timestamp.seconds) * 1_000_000 + i128::from(timestamp.nanos) / 1_000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// A `YYYY-MM-DD` date as UTC microseconds at midnight; `None` when it is not one.
pub fn date_micros(text: &str) -> Option<i64> {
    if text.len() != 10 {
        return None;
    }
    time_micros(&format!("{text}T00:00:00Z"))
}

/// An RFC 3339 time, or a `YYYY-MM-DD` date (midnight UTC), as UTC microseconds.
pub fn time_micros(text: &str) -> Option<i64> {
    if text.len() == 10 {
        return date_micros(text);
    }
    let timestamp: Timestamp = serde_json::from_str(&format!("\"{text}\"")).ok()?;
    Some(micros_from_timestamp(&timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_micros_through_timestamp() {
        for micros in [0, 1, 999_999, 1_700_000_000_123_456, -1, -1_500_000, i64::MIN, i64::MAX] {
            assert_eq!(micros_from_timestamp(&timestamp_from_micros(micros)), micros);
        }
    }

    #[test]
    fn clamps_timestamps_beyond_the_micros_an_i64_holds() {
        let micros = |seconds, nanos| micros_from_timestamp(&Timestamp { seconds, nanos });
        assert_eq!(micros(i64::MIN, 0), i64::MIN);
        assert_eq!(micros(-9_223_372_036_855, 0), i64::MIN);
        assert_eq!(micros(-9_223_372_036_855, 224_192_000), i64::MIN);
        assert_eq!(micros(9_223_372_036_855, 0), i64::MAX);
        assert_eq!(micros(i64::MAX, 999_999_999), i64::MAX);
    }

    #[test]
    fn negative_micros_keep_nanos_positive() {
        let timestamp = timestamp_from_micros(-1);
        assert_eq!(timestamp.seconds, -1);
        assert_eq!(timestamp.nanos, 999_999_000);
    }
}
