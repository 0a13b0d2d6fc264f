//! The customer account aggregate (in progress).
