//! The coding pipeline: six stages on two tracks, editable, re-runnable.

pub mod batch;
pub mod context;
pub mod engine;
pub mod helper;
pub mod item;
pub mod ocr;
pub mod run;
pub mod stage;
pub mod stages;

pub use context::{CodingContext, Settings};
pub use engine::{Control, Engine, Event};
pub use helper::{HelperKind, StageHelper, StageJob};
pub use item::{Flag, Item, Origin, Span};
pub use run::{AgentCall, Method, Run, StageState, Status, Trace, TrackRun};
pub use stage::StageKind;
