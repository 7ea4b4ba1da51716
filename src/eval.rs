//! Metrics against gold codes.
