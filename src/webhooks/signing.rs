//! Standard Webhooks v1 signatures (placeholder: being written).
