//! Tencent spells booleans and small numbers as element text (`<AutoProcess>true</AutoProcess>`).
//! These (de)serialisers keep that spelling in XML and accept either strings or native JSON values
//! back, so the same structs round-trip through the job store's `jsonb`.
use serde::{de, Deserialize, Deserializer, Serializer};
use stowaway_detect::Confidence;

pub(crate) fn to_text<S: Serializer, T: ToString>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

pub(crate) fn bool_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match BoolOrText::deserialize(d)? {
        BoolOrText::Bool(b) => Ok(b),
        BoolOrText::Text(t) if t.eq_ignore_ascii_case("true") => Ok(true),
        BoolOrText::Text(t) if t.eq_ignore_ascii_case("false") => Ok(false),
        BoolOrText::Text(t) => Err(de::Error::custom(format!("expected true or false, not {t:?}"))),
    }
}

/// A confidence as its name (`possible`, `likely`, `certain`); only called for `Some` (the
/// fields skip `None`).
pub(crate) fn confidence_to_text<S: Serializer>(v: &Option<Confidence>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(c) => s.serialize_str(c.as_str()),
        None => s.serialize_none(),
    }
}

/// A confidence back from its name, any case. A name this version does not know reads as absent
/// rather than failing: a stored result that does not deserialise is not shown at all.
pub(crate) fn confidence_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Confidence>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.as_deref().and_then(Confidence::from_name))
}
