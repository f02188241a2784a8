//! Blueprint model (being written).
