//! A structure-aware mutation for the request targets. libFuzzer mutates bytes, and a byte
//! changed inside a nested message usually breaks the length prefixes around it: a timestamp at
//! the edge of its range, two levels down, is then out of reach (a first run of the registry's
//! target, 18 million inputs, never built one). Half the mutations here decode the input as the
//! message its first byte selects (with the descriptor set the services are built from), change
//! one field somewhere in it to a value where bugs hide — an extreme integer, an unknown enum
//! number, a string past a limit or split inside a character, a repeated field grown or emptied —
//! and encode it again; the other half are libFuzzer's own, which find what no schema suggests.

use std::sync::LazyLock;

use prost::Message;
use prost::bytes::Bytes;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, ReflectMessage, Value};

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("the shipped descriptor set decodes")
});

/// Messages nest deeper than this only through recursion, which no request has.
const MAX_DEPTH: usize = 8;

/// Mutates `data[..size]` in place, an input of a target whose arms read the messages `arms`
/// (full names, in the order of the arms), and returns its new size, at most `max_size`.
pub fn mutate(arms: &[&str], data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut random = Random::new(seed);
    if size == 0 || arms.is_empty() || random.below(2) == 0 {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let name = arms[usize::from(data[0]) % arms.len()];
    let Some(descriptor) = POOL.get_message_by_name(name) else {
        panic!("{name} is not a message of the descriptor set");
    };
    let Ok(mut message) = DynamicMessage::decode(descriptor, &data[1..size]) else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    mutate_message(&mut message, &mut random, 0);
    let encoded = message.encode_to_vec();
    if encoded.len() + 1 > max_size {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    data[1..=encoded.len()].copy_from_slice(&encoded);
    encoded.len() + 1
}

/// Changes one field of `message`, or of a message inside it.
fn mutate_message(message: &mut DynamicMessage, random: &mut Random, depth: usize) {
    let fields: Vec<_> = message.descriptor().fields().collect();
    if fields.is_empty() || depth > MAX_DEPTH {
        return;
    }
    let field = &fields[random.below(fields.len())];
    let kind = field.kind();
    if field.is_map() {
        return;
    }
    let value = message.get_field_mut(field);
    let Some(list) = value.as_list_mut() else {
        mutate_value(value, &kind, random, depth);
        return;
    };
    match random.below(5) {
        0 => list.clear(),
        1 | 2 if !list.is_empty() => {
            let index = random.below(list.len());
            mutate_value(&mut list[index], &kind, random, depth);
        }
        3 if !list.is_empty() => {
            // Past the limits on repeated fields (20, 100, 500 entries), duplicates included.
            let copied = list[random.below(list.len())].clone();
            let copies = [1, 20, 100, 501][random.below(4)];
            list.extend(std::iter::repeat_n(copied, copies));
        }
        _ => {
            let mut fresh = Value::default_value(&kind);
            mutate_value(&mut fresh, &kind, random, depth);
            list.push(fresh);
        }
    }
}

fn mutate_value(value: &mut Value, kind: &Kind, random: &mut Random, depth: usize) {
    match value {
        Value::Bool(flag) => *flag = !*flag,
        Value::I32(number) => *number = pick_i64(i64::from(*number), random) as i32,
        Value::I64(number) => *number = pick_i64(*number, random),
        Value::U32(number) => *number = pick_i64(i64::from(*number), random) as u32,
        Value::U64(number) => *number = pick_i64(*number as i64, random) as u64,
        Value::F32(number) => *number = pick_f64(random) as f32,
        Value::F64(number) => *number = pick_f64(random),
        Value::String(text) => *text = pick_string(text, random),
        Value::Bytes(bytes) => *bytes = Bytes::from(pick_string(&String::from_utf8_lossy(bytes), random)),
        Value::EnumNumber(number) => {
            *number = match kind {
                Kind::Enum(descriptor) if random.below(4) > 0 => {
                    let values: Vec<i32> = descriptor.values().map(|value| value.number()).collect();
                    values[random.below(values.len())]
                }
                _ => [-1, 99, i32::MAX, i32::MIN][random.below(4)],
            }
        }
        Value::Message(inner) => mutate_message(inner, random, depth + 1),
        Value::List(_) | Value::Map(_) => {}
    }
}

/// Integers where overflows and off-by-ones hide: the types' edges, time in seconds and in
/// microseconds at the edges of what converts, and the neighbours of the value there was.
fn pick_i64(current: i64, random: &mut Random) -> i64 {
    const EDGES: [i64; 18] = [
        0,
        1,
        -1,
        2,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        i64::MAX - 1,
        i32::MIN as i64,
        i32::MAX as i64,
        u32::MAX as i64,
        86_400_000_000,
        10_000_000_000_000,
        -10_000_000_000_000,
        253_402_300_799,
        -62_135_596_800,
        1_796_083_200,
        999_999_999,
    ];
    match random.below(4) {
        0 => current.wrapping_add(1),
        1 => current.wrapping_sub(1),
        2 => random.next() as i64,
        _ => EDGES[random.below(EDGES.len())],
    }
}

fn pick_f64(random: &mut Random) -> f64 {
    const EDGES: [f64; 10] = [
        0.0,
        -0.0,
        -1.0,
        100.0,
        100.000_001,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
    ];
    EDGES[random.below(EDGES.len())]
}

/// Strings the readers treat specially: blanks, country codes and their aliases, dates valid
/// and not, an e-mail address where a pseudonym belongs, lengths past the limits (300, 20,000
/// characters) in one- and two-byte characters, and the current value cut or doubled.
fn pick_string(current: &str, random: &mut Random) -> String {
    const SAMPLES: [&str; 20] = [
        "",
        " ",
        " padded ",
        "DE",
        "de",
        "EL",
        "UK",
        "XX",
        "EU27_2020",
        "2026-12-01",
        "2026-02-30",
        "0000-01-01",
        "9999-12-31",
        "2026-12-01T00:00:00Z",
        "someone@example.org",
        "\u{feff}\u{0}\u{202e}",
        "Щепкарёв ΝΙΚΟΛΑΟΣ 日本",
        "installation_id",
        "paths.*",
        "00000000-0000-7000-8000-000000000000",
    ];
    match random.below(6) {
        0 => {
            let characters = current.chars().count();
            current.chars().take(random.below(characters + 1)).collect()
        }
        1 => current.repeat(2),
        2 => "x".repeat([300, 301, 20_001][random.below(3)]),
        3 => "é".repeat([150, 301][random.below(2)]),
        _ => SAMPLES[random.below(SAMPLES.len())].to_owned(),
    }
}

/// xorshift64*, seeded by libFuzzer: the same seed mutates the same way, so a run replays.
struct Random(u64);

impl Random {
    fn new(seed: u32) -> Self {
        Self(u64::from(seed) ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound`; `bound` is never 0.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}
