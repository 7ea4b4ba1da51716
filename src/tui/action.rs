//! Everything the user can ask the workbench to do. Keys map to actions
//! (see `keymap`); the app state changes only through actions, which keeps
//! it testable without a terminal.

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
    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "quit (everything is already saved)",
            Action::Help => "show or hide this help",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::Top => "go to the first line",
            Action::Bottom => "go to the last line",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::FocusLeft => "focus the pane on the left",
            Action::FocusRight => "focus the pane on the right",
            Action::FocusUp => "focus the track above",
            Action::FocusDown => "focus the track below",
            Action::Stage1 => "focus stage 1 of the track",
            Action::Stage2 => "focus stage 2",
            Action::Stage3 => "focus stage 3",
            Action::Stage4 => "focus stage 4",
            Action::Stage5 => "focus stage 5",
            Action::Stage6 => "focus stage 6",
            Action::FocusNext => "focus the next pane",
            Action::FocusPrev => "focus the previous pane",
            Action::Activate => "fold/unfold section · edit list",
            Action::Step => "run the next stage",
            Action::RunStale => "re-run stale stages",
            Action::RunAll => "run all stages",
            Action::Cancel => "cancel the running stage",
            Action::Edit => "edit the list (one item per line)",
            Action::Insert => "insert an item below",
            Action::Delete => "delete the item",
            Action::MoveUp => "move the item up",
            Action::MoveDown => "move the item down",
            Action::Accept => "accept the item's code",
            Action::Search => "code search (name, code, pinyin)",
            Action::ToggleStage => "switch the stage off/on",
            Action::Trace => "trace of the stage",
            Action::NextRecord => "next record",
            Action::PrevRecord => "previous record",
            Action::Picker => "pick a record",
            Action::Copy => "copy the final codes",
            Action::CopyLine => "copy the 病案首页 line",
            Action::ExportJson => "export JSON",
            Action::ExportLine => "export the 病案首页 line",
            Action::Trainer => "trainer mode on/off",
            Action::Save => "save",
            Action::Close => "close / cancel",
            Action::Select => "take the selected entry",
            Action::InsertHit => "insert as a new item",
            Action::SwitchTable => "search the other table",
            Action::Similar => "similar coded cases (learned model)",
            Action::Aliases => "what coders taught (alias memory)",
            Action::Adopt => "adopt the code into the focused list",
            Action::Forget => "forget the taught alias",
            Action::Locate => "alphabetic index browser (lead term → code)",
            Action::Pages => "page text of a PDF record (OCR pages)",
            Action::Follow => "follow the 见/另见 cross-reference",
            Action::Back => "back (before the cross-reference)",
            Action::Tabular => "open the code in the code search",
            Action::Click { .. } => "mouse click",
            Action::Scroll { .. } => "mouse wheel",
            Action::Resize { .. } => "terminal resized",
        }
    }

    /// Short label for the footer hint line.
    pub fn short(self) -> &'static str {
        match self {
            Action::Step => "step",
            Action::RunAll => "run all",
            Action::RunStale => "re-run stale",
            Action::Edit => "edit",
            Action::Search => "search",
            Action::Trace => "trace",
            Action::Copy => "copy",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Cancel => "cancel",
            Action::Save => "save",
            Action::Close => "close",
            Action::Select => "select",
            Action::InsertHit => "insert",
            Action::SwitchTable => "other table",
            Action::Accept => "accept",
            Action::Insert => "insert",
            Action::Delete => "delete",
            Action::ToggleStage => "on/off",
            Action::Picker => "records",
            Action::Trainer => "trainer",
            Action::NextRecord => "next",
            Action::PrevRecord => "prev",
            Action::Similar => "similar",
            Action::Aliases => "taught",
            Action::Adopt => "adopt",
            Action::Forget => "forget",
            Action::Locate => "index",
            Action::Pages => "pages",
            Action::Follow => "follow 见",
            Action::Back => "back",
            Action::Tabular => "tabular",
            _ => "",
        }
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
