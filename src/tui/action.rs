//! Everything the user can ask the workbench to do. Keys map to actions
//! (see `keymap`); the app state changes only through actions, which keeps
//! it testable without a terminal.

use crate::i18n::{Lang, Msg};
use serde::{Deserialize, Serialize};

/// A user intent. Unit variants can be bound to keys by their snake_case
/// name in the keys file (`step = "s"`); the others come from the mouse and
/// the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    /// Show or hide the key overview.
    Help,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    /// Focus the pane to the left (from a track's first stage: the record).
    FocusLeft,
    FocusRight,
    /// Focus the other track.
    FocusUp,
    FocusDown,
    /// Focus stage n of the focused track.
    Stage1,
    Stage2,
    Stage3,
    Stage4,
    Stage5,
    Stage6,
    /// Cycle focus over every pane.
    FocusNext,
    FocusPrev,
    /// Record pane: fold or unfold the section; stage pane: edit the list.
    Activate,
    /// Run the next stage that needs a run.
    Step,
    /// Re-run every stale, failed or pending stage.
    RunStale,
    /// Run every stage again (the coder's edited lists are kept).
    RunAll,
    /// Stop the running job cleanly.
    Cancel,
    /// Edit the focused list in a text area, one item per line.
    Edit,
    /// Insert a new item below the focused one (opens the editor on it).
    Insert,
    Delete,
    MoveUp,
    MoveDown,
    /// Confirm the focused item's code as the coder's own.
    Accept,
    /// Open the code search popup.
    Search,
    /// Switch the focused stage off or on.
    ToggleStage,
    /// Show what the focused stage saw and said.
    Trace,
    NextRecord,
    PrevRecord,
    /// Open the record picker.
    Picker,
    /// Copy the final codes with names.
    Copy,
    /// Copy the 病案首页 line.
    CopyLine,
    /// Write the result as JSON.
    ExportJson,
    /// Write the 病案首页 line.
    ExportLine,
    /// Turn trainer mode on or off.
    Trainer,
    /// Editor: keep the edited list.
    Save,
    /// Close the popup or editor without changes.
    Close,
    /// Popups: take the selected entry.
    Select,
    /// Code search: insert the selected code as a new item.
    InsertHit,
    /// Code search: search the other track's table.
    SwitchTable,
    /// Show the past coded records most like this one (learned model).
    Similar,
    /// Show what coders taught the alias memory.
    Aliases,
    /// Similar cases: put the highlighted code into the focused list.
    Adopt,
    /// Taught aliases: forget the highlighted one.
    Forget,
    /// Open the alphabetic index browser.
    Locate,
    /// Show the page text of a PDF record (OCR pages marked).
    Pages,
    /// Index browser: follow the row's 见/另见 cross-reference.
    Follow,
    /// Index browser: back to where the cross-reference was followed from.
    Back,
    /// Index browser: open the row's code in the code search (tabular view).
    Tabular,
    /// Mouse button pressed at a cell.
    #[serde(skip)]
    Click {
        col: u16,
        row: u16,
    },
    /// Mouse wheel over a cell.
    #[serde(skip)]
    Scroll {
        col: u16,
        row: u16,
        down: bool,
    },
    /// The terminal changed size.
    #[serde(skip)]
    Resize {
        width: u16,
        height: u16,
    },
}

impl Action {
    /// The stage number (1-based) of a `StageN` action.
    pub fn stage_number(self) -> Option<usize> {
        Some(match self {
            Action::Stage1 => 1,
            Action::Stage2 => 2,
            Action::Stage3 => 3,
            Action::Stage4 => 4,
            Action::Stage5 => 5,
            Action::Stage6 => 6,
            _ => return None,
        })
    }

    /// Parses a key-file action name (`run_all`).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::deserialize(toml::Value::String(name.trim().to_string())).ok()
    }

    /// The key-file name of a bindable action.
    pub fn name(self) -> String {
        match toml::Value::try_from(self) {
            Ok(toml::Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }

    /// One line for the help overlay.
    pub fn description(self, lang: Lang) -> String {
        let key = match self {
            Action::Quit => Msg::ActQuit,
            Action::Help => Msg::ActHelp,
            Action::Up => Msg::ActUp,
            Action::Down => Msg::ActDown,
            Action::Top => Msg::ActTop,
            Action::Bottom => Msg::ActBottom,
            Action::PageUp => Msg::ActPageUp,
            Action::PageDown => Msg::ActPageDown,
            Action::FocusLeft => Msg::ActFocusLeft,
            Action::FocusRight => Msg::ActFocusRight,
            Action::FocusUp => Msg::ActFocusUp,
            Action::FocusDown => Msg::ActFocusDown,
            Action::Stage1 => Msg::ActStage1,
            Action::FocusNext => Msg::ActFocusNext,
            Action::FocusPrev => Msg::ActFocusPrev,
            Action::Activate => Msg::ActActivate,
            Action::Step => Msg::ActStep,
            Action::RunStale => Msg::ActRunStale,
            Action::RunAll => Msg::ActRunAll,
            Action::Cancel => Msg::ActCancel,
            Action::Edit => Msg::ActEdit,
            Action::Insert => Msg::ActInsert,
            Action::Delete => Msg::ActDelete,
            Action::MoveUp => Msg::ActMoveUp,
            Action::MoveDown => Msg::ActMoveDown,
            Action::Accept => Msg::ActAccept,
            Action::Search => Msg::ActSearch,
            Action::ToggleStage => Msg::ActToggleStage,
            Action::Trace => Msg::ActTrace,
            Action::NextRecord => Msg::ActNextRecord,
            Action::PrevRecord => Msg::ActPrevRecord,
            Action::Picker => Msg::ActPicker,
            Action::Copy => Msg::ActCopy,
            Action::CopyLine => Msg::ActCopyLine,
            Action::ExportJson => Msg::ActExportJson,
            Action::ExportLine => Msg::ActExportLine,
            Action::Trainer => Msg::ActTrainer,
            Action::Save => Msg::ActSave,
            Action::Close => Msg::ActClose,
            Action::Select => Msg::ActSelect,
            Action::InsertHit => Msg::ActInsertHit,
            Action::SwitchTable => Msg::ActSwitchTable,
            Action::Similar => Msg::ActSimilar,
            Action::Aliases => Msg::ActAliases,
            Action::Adopt => Msg::ActAdopt,
            Action::Forget => Msg::ActForget,
            Action::Locate => Msg::ActLocate,
            Action::Pages => Msg::ActPages,
            Action::Follow => Msg::ActFollow,
            Action::Back => Msg::ActBack,
            Action::Tabular => Msg::ActTabular,
            Action::Click { .. } => Msg::ActClick,
            Action::Scroll { .. } => Msg::ActScroll,
            Action::Resize { .. } => Msg::ActResize,
            Action::Stage2 | Action::Stage3 | Action::Stage4 | Action::Stage5 | Action::Stage6 => {
                let n = self.stage_number().unwrap_or_default();
                return crate::tr!(lang, ActStageN, n = n);
            }
        };
        key.text(lang).to_string()
    }

    /// Short label for the footer hint line.
    pub fn short(self, lang: Lang) -> &'static str {
        let key = match self {
            Action::Step => Msg::HintStep,
            Action::RunAll => Msg::HintRunAll,
            Action::RunStale => Msg::HintRunStale,
            Action::Edit => Msg::HintEdit,
            Action::Search => Msg::HintSearch,
            Action::Trace => Msg::HintTrace,
            Action::Copy => Msg::HintCopy,
            Action::Help => Msg::HintHelp,
            Action::Quit => Msg::HintQuit,
            Action::Cancel => Msg::HintCancel,
            Action::Save => Msg::HintSave,
            Action::Close => Msg::HintClose,
            Action::Select => Msg::HintSelect,
            Action::InsertHit => Msg::HintInsert,
            Action::SwitchTable => Msg::HintOtherTable,
            Action::Accept => Msg::HintAccept,
            Action::Insert => Msg::HintInsert,
            Action::Delete => Msg::HintDelete,
            Action::ToggleStage => Msg::HintToggle,
            Action::Picker => Msg::HintRecords,
            Action::Trainer => Msg::HintTrainer,
            Action::NextRecord => Msg::HintNext,
            Action::PrevRecord => Msg::HintPrev,
            Action::Similar => Msg::HintSimilar,
            Action::Aliases => Msg::HintTaught,
            Action::Adopt => Msg::HintAdopt,
            Action::Forget => Msg::HintForget,
            Action::Locate => Msg::HintIndex,
            Action::Pages => Msg::HintPages,
            Action::Follow => Msg::HintFollow,
            Action::Back => Msg::HintBack,
            Action::Tabular => Msg::HintTabular,
            _ => return "",
        };
        key.text(lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in [
            Action::RunAll,
            Action::Step,
            Action::ExportJson,
            Action::Quit,
        ] {
            assert_eq!(Action::from_name(&a.name()), Some(a));
        }
        assert_eq!(Action::RunStale.name(), "run_stale");
        assert_eq!(Action::from_name("nonsense"), None);
    }
}
