//! Code Also rules for ICD-9-CM-3 procedures and their index.
