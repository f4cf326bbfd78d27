//! Closed sets of values with stable names, declared once per service the same way:
//! [`stored_enum!`](crate::stored_enum) for a domain enum and the name rows and events keep, and
//! [`enum_conversions!`](crate::enum_conversions) for its pair in the protobuf contract.

/// Declares a closed set of values with its stable storage name: `ALL`, `as_stored` and
/// `from_stored` (`None` for a name this build does not know).
#[macro_export]
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $stored:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name this value is stored and announced by.
            pub fn as_stored(self) -> &'static str {
                match self { $(Self::$variant => $stored),+ }
            }

            pub fn from_stored(text: &str) -> Option<Self> {
                match text { $($stored => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

/// `to_proto` and `from_proto` functions for a domain enum and its protobuf enum, the latter
/// named under a `proto` module in scope where the macro is used; an unspecified or unknown
/// protobuf value has no domain value.
#[macro_export]
macro_rules! enum_conversions {
    ($to:ident, $from:ident, $domain:ident <=> $proto:ident { $($variant:ident => $proto_variant:ident),+ $(,)? }) => {
        pub fn $to(value: $domain) -> i32 {
            match value { $($domain::$variant => proto::$proto::$proto_variant as i32),+ }
        }

        pub fn $from(value: i32) -> Option<$domain> {
            match proto::$proto::try_from(value) {
                $(Ok(proto::$proto::$proto_variant) => Some($domain::$variant),)+
                _ => None,
            }
        }
    };
}
