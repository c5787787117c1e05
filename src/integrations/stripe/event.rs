//! Stripe events parsed from the raw request text with serde (pure, no
//! PostgreSQL), and the total order in which their states apply.
//!
//! Only the fields the mirrors keep are read; every other field is ignored, so
//! new API versions that add fields still parse. A field of the wrong type is an
//! error naming the field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event envelope.
#[derive(Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    /// The connected account (Stripe Connect) the event came from, if any.
    #[serde(default)]
    pub account: Option<String>,
    pub data: Data,
}

#[derive(Deserialize)]
pub struct Data {
    pub object: Value,
}

/// An id that Stripe sends either as a string or, when expanded, as an object with `id`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Reference {
    Id(String),
    Object { id: String },
}

impl Reference {
    pub fn id(&self) -> &str {
        match self {
            Reference::Id(id) | Reference::Object { id } => id,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct InvoiceSettings {
    #[serde(default)]
    pub default_payment_method: Option<Reference>,
}

#[derive(Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub balance: Option<i64>,
    #[serde(default)]
    pub delinquent: Option<bool>,
    #[serde(default)]
    pub invoice_settings: Option<InvoiceSettings>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub created: Option<i64>,
}

#[derive(Deserialize)]
pub struct Recurring {
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub interval_count: Option<i32>,
}

#[derive(Deserialize)]
pub struct Price {
    pub id: String,
    #[serde(default)]
    pub product: Option<Reference>,
    #[serde(default)]
    pub lookup_key: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub recurring: Option<Recurring>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

#[derive(Deserialize)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub price: Option<Price>,
    #[serde(default)]
    pub quantity: Option<i32>,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

#[derive(Deserialize, Default)]
pub struct Items {
    #[serde(default)]
    pub data: Vec<Item>,
}

#[derive(Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: Reference,
    pub status: String,
    #[serde(default)]
    pub items: Items,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub cancel_at_period_end: Option<bool>,
    #[serde(default)]
    pub cancel_at: Option<i64>,
    #[serde(default)]
    pub canceled_at: Option<i64>,
    #[serde(default)]
    pub ended_at: Option<i64>,
    #[serde(default)]
    pub trial_start: Option<i64>,
    #[serde(default)]
    pub trial_end: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// One subscription item as the apply statement reads it (`jsonb_to_recordset`).
#[derive(Serialize)]
pub struct ItemRow<'a> {
    pub id: &'a str,
    pub price: Option<&'a str>,
    pub product: Option<&'a str>,
    pub lookup_key: Option<&'a str>,
    pub quantity: i32,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
    pub metadata: &'a Value,
}

/// What an event type does to the mirrors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customer { deleted: bool },
    Subscription,
    Other,
}

pub fn kind(event_type: &str) -> Kind {
    match event_type {
        "customer.created" | "customer.updated" => Kind::Customer { deleted: false },
        "customer.deleted" => Kind::Customer { deleted: true },
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted"
        | "customer.subscription.paused"
        | "customer.subscription.resumed"
        | "customer.subscription.trial_will_end" => Kind::Subscription,
        _ => Kind::Other,
    }
}

/// Rank of a state among states stamped in the same second: a terminal state
/// (a deleted customer; a canceled or incomplete_expired subscription) wins,
/// since Stripe never leaves it again.
pub fn subscription_rank(status: &str) -> i16 {
    match status {
        "canceled" | "incomplete_expired" => 2,
        _ => 1,
    }
}

pub fn customer_rank(deleted: bool) -> i16 {
    if deleted {
        2
    } else {
        1
    }
}

/// Parses a JSON value into `T`, or the message of why not.
pub fn object<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    T::deserialize(value).map_err(|error| error.to_string())
}

/// An object's metadata: a JSON object, `{}` when absent or null.
pub fn metadata(value: &Option<Value>) -> &Value {
    static EMPTY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    match value {
        Some(value @ Value::Object(_)) => value,
        _ => EMPTY.get_or_init(|| Value::Object(Default::default())),
    }
}
