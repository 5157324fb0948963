//! Borrowed, single-pass decoding of the `messages.rs` structs that is never laxer than building
//! a [`serde_json::Value`] first.
//!
//! In: a serde map (the rest of a JSON object whose first keys the caller may already have
//! read). Out: a message struct, or an error that sends the message to the general path.
//!
//! Why not serde's derive: a derived struct skips unknown keys with `IgnoredAny`, which
//! serde_json skims without the checks it applies when it builds a `Value` (nesting depth,
//! number range such as `1e400`, lone `\ud800` escapes). A message the `Value` path refuses
//! must never be accepted here, so unknown values are read by [`Checked`] under the `Value`
//! rules, and a struct's keys are matched by [`wire_struct!`]. Duplicate keys and the keys in
//! `reject` (those that would change how the `Value` path reads the message) are errors.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A JSON value read through and dropped, checked as `serde_json::Value` would check it.
pub(super) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
        Checked::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// A field type this module can read: scalars through serde, message structs through
/// [`FromMap`] (so nothing inside them is skimmed either).
pub(super) trait Strict<'de>: Sized {
    fn strict<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

macro_rules! strict_by_serde {
    ($($t:ty),*) => {$(
        impl<'de: 'a, 'a> Strict<'de> for $t {
            fn strict<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize(d)
            }
        }
    )*};
}

strict_by_serde!(
    i64,
    u64,
    bool,
    &'a str,
    Option<i64>,
    Option<u64>,
    Option<bool>,
    Option<&'a str>
);

/// The seed that reads a `T` strictly, for `next_value_seed`.
pub(super) struct Seed<T>(pub PhantomData<T>);

impl<'de, T: Strict<'de>> DeserializeSeed<'de> for Seed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::strict(d)
    }
}

/// A message struct read from the keys of a map.
pub(super) trait FromMap<'de>: Sized {
    /// Reads the remaining keys of `map`; `first` is a key already taken from it whose value
    /// is still unread. A key in `reject` is an error.
    fn from_map<A: MapAccess<'de>>(
        first: Option<&'de str>,
        map: &mut A,
        reject: &[&str],
    ) -> Result<Self, A::Error>;
}

/// Reads a nested message struct (the `k` of a kline) from a JSON object.
pub(super) struct Nested<T>(PhantomData<T>);

impl<'de, T: FromMap<'de>> Visitor<'de> for Nested<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        T::from_map(None, &mut map, &[])
    }
}

/// Reads a nested struct of type `T` from `d`.
pub(super) fn nested<'de, T: FromMap<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(Nested(PhantomData))
}

/// The error that hands a message to the general path; its text is never shown.
pub(super) fn general<E: de::Error>() -> E {
    E::custom("left to the general path")
}

/// Implements [`FromMap`] for a `messages.rs` struct: `"key" => field: required` for each
/// field, or `optional` for the `Option` ones (absent → `None`). Every field must be listed (the
/// struct literal does not compile otherwise); a misspelt key makes the fast path refuse real
/// messages, which `fast_tests.rs` catches.
macro_rules! wire_struct {
    ($name:ident { $($key:literal => $field:ident: $mode:ident),* $(,)? }) => {
        impl<'de: 'a, 'a> $crate::ingest::exchange::binance::strict::FromMap<'de> for $name<'a> {
            fn from_map<A: serde::de::MapAccess<'de>>(
                first: Option<&'de str>,
                map: &mut A,
                reject: &[&str],
            ) -> Result<Self, A::Error> {
                use $crate::ingest::exchange::binance::strict::{general, Checked, Seed};
                $(let mut $field = None;)*
                let mut key = match first {
                    Some(key) => Some(key),
                    None => map.next_key::<&'de str>()?,
                };
                while let Some(k) = key {
                    match k {
                        $($key => {
                            if $field.is_some() {
                                return Err(general());
                            }
                            $field = Some(map.next_value_seed(Seed(std::marker::PhantomData))?);
                        })*
                        _ if reject.contains(&k) => return Err(general()),
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                    key = map.next_key::<&'de str>()?;
                }
                Ok($name {
                    $($field: wire_struct!(@$mode $field, $key)),*
                })
            }
        }
    };
    (@required $field:ident, $key:literal) => {
        match $field {
            Some(value) => value,
            None => return Err(<A::Error as serde::de::Error>::missing_field($key)),
        }
    };
    (@optional $field:ident, $key:literal) => {
        $field.unwrap_or(None)
    };
}

pub(super) use wire_struct;
