//! The app's one field error: a message that belongs beside one form field (or one field of an
//! API request). Its JSON is `{"field": ..., "message": ...}`, as the API answers.

use serde::{Deserialize, Serialize};

/// A message that belongs beside one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_has_exactly_field_and_message() {
        let error = FieldError::new("order_id", "is required");
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"field": "order_id", "message": "is required"})
        );
        assert_eq!(serde_json::from_value::<FieldError>(json).unwrap(), error);
    }
}
