//! The coding pipeline: six stages on two tracks, editable, re-runnable.

pub mod item;
pub mod run;
pub mod stage;

pub use item::{Flag, Item, Origin, Span};
pub use run::{AgentCall, Method, Run, StageState, Status, Trace, TrackRun};
pub use stage::StageKind;
