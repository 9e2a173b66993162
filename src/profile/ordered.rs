/*!
Typed JSON objects that write back as they were read: `Profile` and its `b24auth` object are
structs with a field for every key b24auth knows, yet the PHP examples and earlier versions wrote
the stored file, so a rewrite must keep its key order and each value's JSON form byte for byte.

A [`Typed`] struct therefore keeps, beside its typed fields, a [`Layout`]: the keys in the order
they came (a new key goes last, a removed one leaves, as a JSON map does) and the values it holds
untyped. A value that does not have its field's JSON type (a number where text belongs) is
kept untyped under its name too, so even a damaged field writes back as it was read.
*/

use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::secret::Secret;

/// A key of a typed object: one of its fields, or one it does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Name<F> {
    Known(F),
    Other(String),
}

/// The keys in the order written, and the values held untyped (unknown keys, and known ones
/// whose value is not of the field's type). Two layouts are equal when they hold the same
/// untyped values, in any order, as two JSON maps are.
#[derive(Clone, Debug)]
pub(crate) struct Layout<F> {
    order: Vec<Name<F>>,
    rest: Map<String, Value>,
}

impl<F> Default for Layout<F> {
    fn default() -> Self {
        Layout {
            order: Vec::new(),
            rest: Map::new(),
        }
    }
}

impl<F> PartialEq for Layout<F> {
    fn eq(&self, other: &Self) -> bool {
        self.rest == other.rest
    }
}

/// A struct whose fields are an object's known keys (see the module's note).
pub(crate) trait Typed: Default {
    type Field: Copy + Eq;
    fn known(name: &str) -> Option<Self::Field>;
    fn name(field: Self::Field) -> &'static str;
    /// Takes `value` into the field; hands it back when it is not of the field's type.
    fn take(&mut self, field: Self::Field, value: Value) -> Result<(), Value>;
    fn clear(&mut self, field: Self::Field);
    fn value(&self, field: Self::Field) -> Option<Value>;
    fn layout(&self) -> &Layout<Self::Field>;
    fn layout_mut(&mut self) -> &mut Layout<Self::Field>;
}

/// A field's value type and its JSON form.
pub(crate) trait Stored: Sized {
    fn from_value(value: Value) -> Result<Self, Value>;
    fn to_value(&self) -> Value;
}

/// A number as Bitrix24 or the PHP examples wrote it: a JSON integer, or text (PHP writes
/// numbers from forms as strings), kept in that form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Int {
    Number(i64),
    Text(String),
}

impl Int {
    /// The number, from either form (text that is not a number: `None`).
    pub fn get(&self) -> Option<i64> {
        match self {
            Int::Number(n) => Some(*n),
            Int::Text(s) => s.parse().ok(),
        }
    }
}

impl Stored for Int {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Number(n) => n.as_i64().map(Int::Number).ok_or(Value::Number(n)),
            Value::String(s) => Ok(Int::Text(s)),
            other => Err(other),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Int::Number(n) => (*n).into(),
            Int::Text(s) => s.as_str().into(),
        }
    }
}

impl Stored for String {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(other),
        }
    }

    fn to_value(&self) -> Value {
        self.as_str().into()
    }
}

impl Stored for Secret {
    fn from_value(value: Value) -> Result<Self, Value> {
        String::from_value(value).map(Secret::new)
    }

    fn to_value(&self) -> Value {
        self.expose().into()
    }
}

impl Stored for i64 {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Number(n) => n.as_i64().ok_or(Value::Number(n)),
            other => Err(other),
        }
    }

    fn to_value(&self) -> Value {
        (*self).into()
    }
}

impl Stored for bool {
    fn from_value(value: Value) -> Result<Self, Value> {
        value.as_bool().ok_or(value)
    }

    fn to_value(&self) -> Value {
        (*self).into()
    }
}

impl Stored for Map<String, Value> {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Object(m) => Ok(m),
            other => Err(other),
        }
    }

    fn to_value(&self) -> Value {
        Value::Object(self.clone())
    }
}

/// A typed object from its JSON form: from a JSON object only (see [`Stored`]).
pub(crate) fn object_from_value<T: Typed>(value: Value) -> Result<T, Value> {
    let Value::Object(m) = value else {
        return Err(value);
    };
    let mut doc = T::default();
    for (k, v) in m {
        insert(&mut doc, k, v);
    }
    Ok(doc)
}

fn name_of<T: Typed>(key: String) -> Name<T::Field> {
    match T::known(&key) {
        Some(f) => Name::Known(f),
        None => Name::Other(key),
    }
}

/// Sets `key` as a JSON map's insert does: in its place when present, else last.
pub(crate) fn insert<T: Typed>(doc: &mut T, key: String, value: Value) {
    put(doc, name_of::<T>(key), value);
}

/// Sets a known field from its JSON form (see [`insert`]).
pub(crate) fn set<T: Typed>(doc: &mut T, field: T::Field, value: impl Into<Value>) {
    put(doc, Name::Known(field), value.into());
}

fn put<T: Typed>(doc: &mut T, name: Name<T::Field>, value: Value) {
    match &name {
        Name::Known(f) => match doc.take(*f, value) {
            Ok(()) => {
                doc.layout_mut().rest.shift_remove(T::name(*f));
            }
            Err(value) => {
                doc.clear(*f);
                doc.layout_mut().rest.insert(T::name(*f).into(), value);
            }
        },
        Name::Other(key) => {
            doc.layout_mut().rest.insert(key.clone(), value);
        }
    }
    let order = &mut doc.layout_mut().order;
    if !order.contains(&name) {
        order.push(name);
    }
}

/// Removes a known field, as a JSON map's `shift_remove` does.
pub(crate) fn remove<T: Typed>(doc: &mut T, field: T::Field) {
    doc.clear(field);
    let layout = doc.layout_mut();
    layout.rest.shift_remove(T::name(field));
    layout.order.retain(|n| *n != Name::Known(field));
}

/// Whether the object has the key, typed or not.
pub(crate) fn holds<T: Typed>(doc: &T, field: T::Field) -> bool {
    doc.layout().order.contains(&Name::Known(field))
}

/// The value of `key` in its JSON form.
pub(crate) fn get<T: Typed>(doc: &T, key: &str) -> Option<Value> {
    let typed = T::known(key).and_then(|f| doc.value(f));
    typed.or_else(|| doc.layout().rest.get(key).cloned())
}

/// Each key and its value, in order.
fn entries<T: Typed>(doc: &T) -> impl Iterator<Item = (&str, Value)> {
    let layout = doc.layout();
    layout.order.iter().filter_map(move |name| {
        let (key, typed) = match name {
            Name::Known(f) => (T::name(*f), doc.value(*f)),
            Name::Other(key) => (key.as_str(), None),
        };
        Some((key, typed.or_else(|| layout.rest.get(key).cloned())?))
    })
}

pub(crate) fn to_map<T: Typed>(doc: &T) -> Map<String, Value> {
    entries(doc).map(|(k, v)| (k.to_string(), v)).collect()
}

pub(crate) fn serialize<T: Typed, S: Serializer>(
    doc: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    for (key, value) in entries(doc) {
        map.serialize_entry(key, &value)?;
    }
    map.end()
}

/// Reads a JSON object straight into `T`: known keys are matched without a copy, each value
/// read as JSON and taken into its field.
pub(crate) fn deserialize<'de, T: Typed, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor(PhantomData::<T>))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Typed> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut doc = T::default();
        while let Some(name) = map.next_key_seed(KeySeed(PhantomData::<T>))? {
            let value: Value = map.next_value()?;
            put(&mut doc, name, value);
        }
        Ok(doc)
    }
}

struct KeySeed<T>(PhantomData<T>);

impl<'de, T: Typed> DeserializeSeed<'de> for KeySeed<T> {
    type Value = Name<T::Field>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, T: Typed> Visitor<'de> for KeySeed<T> {
    type Value = Name<T::Field>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(match T::known(key) {
            Some(f) => Name::Known(f),
            None => Name::Other(key.to_string()),
        })
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(name_of::<T>(key))
    }
}

/// Declares a typed object's fields once: `Variant: member = key::NAME,` each, for the struct
/// `$ty` whose members are `Option`s of [`Stored`] types and whose layout is `layout`.
macro_rules! typed_fields {
    ($ty:ident, $field:ident { $($variant:ident : $member:ident = $name:path,)* }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $field {
            $($variant,)*
        }

        impl $crate::profile::ordered::Typed for $ty {
            type Field = $field;

            fn known(name: &str) -> Option<$field> {
                match name {
                    $($name => Some($field::$variant),)*
                    _ => None,
                }
            }

            fn name(field: $field) -> &'static str {
                match field {
                    $($field::$variant => $name,)*
                }
            }

            fn take(&mut self, field: $field, value: serde_json::Value) -> Result<(), serde_json::Value> {
                use $crate::profile::ordered::Stored;
                match field {
                    $($field::$variant => self.$member = Some(Stored::from_value(value)?),)*
                }
                Ok(())
            }

            fn clear(&mut self, field: $field) {
                match field {
                    $($field::$variant => self.$member = None,)*
                }
            }

            fn value(&self, field: $field) -> Option<serde_json::Value> {
                use $crate::profile::ordered::Stored;
                match field {
                    $($field::$variant => self.$member.as_ref().map(Stored::to_value),)*
                }
            }

            fn layout(&self) -> &$crate::profile::ordered::Layout<$field> {
                &self.layout
            }

            fn layout_mut(&mut self) -> &mut $crate::profile::ordered::Layout<$field> {
                &mut self.layout
            }
        }
    };
}

pub(crate) use typed_fields;
