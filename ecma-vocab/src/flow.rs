//! Deprovisioning choices: what ECMA2Host's Deprovisioning page offers for the disable flow
//! (Entra sets `active` to false) and the delete flow (Entra sends DELETE) — delete the object,
//! do nothing, or set a boolean attribute ("Set attribute value" takes booleans only). Source:
//! Microsoft's "Configure the Microsoft Entra ECMA Connector Host" (Deprovisioning page).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// One deprovisioning choice: `"delete"`, `"none"`, or
/// `{ set_attribute = "name", value = true }` (booleans only, as in ECMA2Host).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FlowAction {
    /// Delete the object from the target.
    #[default]
    Delete,
    /// Leave the target unchanged.
    None,
    /// Set a boolean attribute (not one of the selected attributes) to `value`; re-enabling sets
    /// the opposite.
    SetAttribute {
        /// The target attribute.
        attribute: String,
        /// The value that means "disabled".
        value: bool,
    },
}

impl<'de> Deserialize<'de> for FlowAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlowAction;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"delete\", \"none\" or { set_attribute = \"name\", value = true }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FlowAction, E> {
                match s {
                    "delete" => Ok(FlowAction::Delete),
                    "none" => Ok(FlowAction::None),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FlowAction, A::Error> {
                let (mut attribute, mut value) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "set_attribute" => attribute = Some(map.next_value::<String>()?),
                        "value" => value = Some(map.next_value::<bool>()?),
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["set_attribute", "value"],
                            ));
                        }
                    }
                }
                match (attribute, value) {
                    (Some(attribute), Some(value)) => {
                        Ok(FlowAction::SetAttribute { attribute, value })
                    }
                    (None, _) => Err(de::Error::missing_field("set_attribute")),
                    (_, None) => Err(de::Error::missing_field("value")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl FlowAction {
    /// `delete`, `none` or `set-attribute`: how capability names and messages call it.
    pub fn name(&self) -> &'static str {
        match self {
            FlowAction::Delete => "delete",
            FlowAction::None => "none",
            FlowAction::SetAttribute { .. } => "set-attribute",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct F {
        flow: FlowAction,
    }

    #[test]
    fn the_three_choices_read_as_written() {
        let f = |s: &str| toml::from_str::<F>(&format!("flow = {s}")).map(|f| f.flow);
        assert_eq!(f("\"delete\"").unwrap(), FlowAction::Delete);
        assert_eq!(f("\"none\"").unwrap(), FlowAction::None);
        assert_eq!(
            f("{ set_attribute = \"isSoftDeleted\", value = true }").unwrap(),
            FlowAction::SetAttribute {
                attribute: "isSoftDeleted".into(),
                value: true
            }
        );
        assert!(f("\"Delete\"").is_err());
        assert!(f("{ set_attribute = \"x\" }").is_err());
        assert!(f("{ set_attribute = \"x\", value = \"yes\" }").is_err());
        assert_eq!(FlowAction::None.name(), "none");
    }
}
