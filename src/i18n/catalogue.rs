//! The message catalogue. Each key is declared once with its Chinese and
//! its English text, so a key without a translation does not compile.
//! Placeholders are `{name}`; fill them with `tr!(lang, Key, name = …)`.
//!
//! Chinese follows the coders' own terms (主要诊断, 另编码, 见/另见);
//! keep it short: the 80-column layout counts each Chinese char twice.

use super::Lang;

macro_rules! catalogue {
    ($( $key:ident => $zh:literal, $en:literal; )*) => {
        /// A key of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($key,)* }

        impl Msg {
            /// Every key (the catalogue tests walk them).
            pub const ALL: &'static [Msg] = &[$(Msg::$key,)*];

            /// The text of the key in `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                let [zh, en] = match self { $(Msg::$key => [$zh, $en],)* };
                match lang {
                    Lang::Zh => zh,
                    Lang::En => en,
                }
            }
        }
    };
}

catalogue! {
    // ----- the command line ---------------------------------------------
    CliError => "错误：{e}", "error: {e}";
    CliWarning => "警告：{w}", "warning: {w}";
    CliNoRecordsIn => "{file} 中没有病案", "no records to open in {file}";
    CliNoRecords => "没有可打开的病案", "no records to open";
    CliNothingToLearn => "无可学习的内容：{n} 份病案都没有金标准编码，也未给出对照文件",
        "nothing to learn from: none of the {n} records has gold codes, and no pair file was given";
    CliLearned => "已从 {records} 份病案、{pairs} 组对照、{coder} 条编码员映射学习，用时 {secs} 秒 → {path}（{mb} MB）",
        "learned from {records} records, {pairs} pairs, {coder} coder mappings in {secs} s → {path} ({mb} MB)";
    CliEvalRecords => "{n} 份病案（{failed} 份失败，按未编码计分），方法：{method}",
        "{n} records ({failed} failed, scored as coded with nothing), method: {method}";
    CliContaminated => "已污染：学习模型学过其中 {n} 份病案；以下数字偏高",
        "CONTAMINATED: the learned model learned from {n} of these records; the figures below overstate it";

    // ----- names of things ----------------------------------------------
    TrackDiagnosis => "诊断", "diagnosis";
    TrackProcedure => "手术", "procedure";
    TrackTitleDiagnosis => " 诊断 ", " Diagnoses ";
    TrackTitleProcedure => " 手术 ", " Procedures ";
    StageStandardize => "标准化", "Standardized";
    StageMine => "候选挖掘", "Mined";
    StagePrioritize => "排序", "Prioritized";
    StageCodeAlso => "另编码", "Code Also";
    StageValidate => "校验", "Validated";
    StageMap => "编码", "Codes";
    StageShortStandardize => "标准", "Std";
    StageShortMine => "挖掘", "Mine";
    StageShortPrioritize => "排序", "Prio";
    StageShortCodeAlso => "另编", "Also";
    StageShortValidate => "校验", "Valid";
    StageShortMap => "编码", "Codes";
    StateOff => "停用", "off";
    StatePending => "待运行", "pending";
    StateRunning => "运行中", "running";
    StateFresh => "最新", "fresh";
    StateStale => "过期", "stale";
    StateEdited => "已编辑", "edited";
    StateFailed => "失败", "failed";
    OriginAgent => "智能体", "agent";
    OriginRetrieval => "检索", "retrieval";
    OriginRule => "规则", "rule";
    OriginCoder => "编码员", "coder";
    OriginLearned => "学习", "learned";
    JobStep => "单步", "step";
    JobRunStale => "重跑过期", "re-run stale";
    JobRunAll => "全部运行", "run all";
    CopyOsc52 => "OSC 52", "OSC 52";
    CopyClipboard => "剪贴板", "clipboard";
    TierExactCode => "精确编码", "exact_code";
    TierCodePrefix => "编码前缀", "code_prefix";
    TierExactName => "精确名称", "exact_name";
    TierAlias => "别名", "alias";
    TierPinyin => "拼音", "pinyin";
    TierFuzzy => "模糊", "fuzzy";
    SystemIcd10 => "ICD-10 疾病", "ICD-10 diseases";
    SystemIcd9 => "ICD-9-CM-3 手术", "ICD-9-CM-3 procedures";

    // ----- trainer notes ------------------------------------------------
    NoteStandardizeDiagnosis =>
        "把出院诊断拆成条目，每条改写为编码表中的规范疾病名称。",
        "Split the discharge diagnoses into items and rewrite each as the canonical disease name of the code table.";
    NoteStandardizeProcedure =>
        "把所列手术拆成条目，每条改写为规范的手术操作名称。",
        "Split the listed operations into items and rewrite each as the canonical procedure name.";
    NoteMine =>
        "通读手术记录，找出做了但未列出的操作，如支架前的冠状动脉造影。",
        "Read the operative report for procedures done but not listed, such as the angiography before a stent.";
    NotePrioritizeDiagnosis =>
        "主要诊断放第一：本次住院主要针对的疾病。",
        "Put the principal diagnosis first: the condition chiefly responsible for this admission.";
    NotePrioritizeProcedure =>
        "主要手术放第一：最具决定性的治疗，排在辅助操作之前。",
        "Put the principal procedure first: the most definitive treatment, ahead of its adjuncts.";
    NoteCodeAlso =>
        "按每个手术的“另编码”注释补编：处理的血管数、置入的支架、分叉、器械。",
        "Follow the 'code also' notes of each procedure: vessels treated, stents inserted, bifurcation, devices.";
    NoteValidateDiagnosis =>
        "逐条对照病历核查诊断：删去无依据的，补上遗漏的，改正错误的写法。",
        "Check each diagnosis against the record: drop unsupported ones, recover omissions, fix the variant.";
    NoteValidateProcedure =>
        "保留病历支持的另编码条目，删去多余的。",
        "Keep the Code Also additions the record supports and remove the redundant ones.";
    NoteMap =>
        "在编码表中查每个最终名称，赋予最具体的有效编码。",
        "Look each final name up in the code table and assign the most specific valid code.";

    // ----- the main screen ----------------------------------------------
    EnlargeTerminal => "icdflow：请放大终端", "icdflow: enlarge the terminal";
    RecordPane => " 病案 ", " Record ";
    SectionChars => " ({n} 字)", " ({n} chars)";
    PaneRunning => "{spinner} 运行中{elapsed}", "{spinner} running{elapsed}";
    PaneFailed => "失败", "failed";
    PaneNotRun => "（尚未运行）", "(not run yet)";
    PaneEmpty => "（空）", "(empty)";
    NotInTable => "不在编码表中", "not in the table";
    InfoOrigin => " · {origin}", " · {origin}";
    InfoEvidence => " · 依据 ×{n}", " · evidence ×{n}";
    InfoLowConfidence => " · 低置信度", " · low confidence";
    InfoNoEvidence => " · 无依据", " · no evidence";
    InfoUnmapped => " · 未映射", " · unmapped";
    InfoConflict => " · 冲突：{s}", " · conflict: {s}";
    InfoFrom => " · 源自 {src}", " · from {src}";
    FooterCancelling => "（取消中）", " (cancelling)";
    FooterStarting => "引擎启动中… ", "starting engine… ";
    FooterEngineFailed => "引擎失败 ", "engine failed ";

    // ----- footer hints (short action names) ----------------------------
    HintStep => "单步", "step";
    HintRunAll => "全部运行", "run all";
    HintRunStale => "重跑过期", "re-run stale";
    HintEdit => "编辑", "edit";
    HintSearch => "检索", "search";
    HintTrace => "追踪", "trace";
    HintCopy => "复制", "copy";
    HintHelp => "帮助", "help";
    HintQuit => "退出", "quit";
    HintCancel => "取消", "cancel";
    HintSave => "保存", "save";
    HintClose => "关闭", "close";
    HintSelect => "选择", "select";
    HintInsert => "插入", "insert";
    HintOtherTable => "另一表", "other table";
    HintAccept => "确认", "accept";
    HintDelete => "删除", "delete";
    HintToggle => "开/关", "on/off";
    HintRecords => "病案", "records";
    HintTrainer => "培训", "trainer";
    HintNext => "下一份", "next";
    HintPrev => "上一份", "prev";
    HintSimilar => "相似", "similar";
    HintTaught => "别名", "taught";
    HintAdopt => "采用", "adopt";
    HintForget => "遗忘", "forget";
    HintIndex => "索引", "index";
    HintPages => "原文", "pages";
    HintFollow => "跟随见", "follow 见";
    HintBack => "返回", "back";
    HintTabular => "类目表", "tabular";

    // ----- help: what each action does ----------------------------------
    ActQuit => "退出（所有内容已保存）", "quit (everything is already saved)";
    ActHelp => "显示/隐藏本帮助", "show or hide this help";
    ActUp => "上移", "move up";
    ActDown => "下移", "move down";
    ActTop => "到第一行", "go to the first line";
    ActBottom => "到最后一行", "go to the last line";
    ActPageUp => "上一页", "page up";
    ActPageDown => "下一页", "page down";
    ActFocusLeft => "聚焦左侧窗格", "focus the pane on the left";
    ActFocusRight => "聚焦右侧窗格", "focus the pane on the right";
    ActFocusUp => "聚焦上方的轨", "focus the track above";
    ActFocusDown => "聚焦下方的轨", "focus the track below";
    ActStage1 => "聚焦本轨第 1 阶段", "focus stage 1 of the track";
    ActStageN => "聚焦第 {n} 阶段", "focus stage {n}";
    ActFocusNext => "聚焦下一窗格", "focus the next pane";
    ActFocusPrev => "聚焦上一窗格", "focus the previous pane";
    ActActivate => "折叠/展开段落 · 编辑列表", "fold/unfold section · edit list";
    ActStep => "运行下一阶段", "run the next stage";
    ActRunStale => "重跑过期的阶段", "re-run stale stages";
    ActRunAll => "运行全部阶段", "run all stages";
    ActCancel => "取消正在运行的阶段", "cancel the running stage";
    ActEdit => "编辑列表（每行一条）", "edit the list (one item per line)";
    ActInsert => "在下方插入一条", "insert an item below";
    ActDelete => "删除该条", "delete the item";
    ActMoveUp => "该条上移", "move the item up";
    ActMoveDown => "该条下移", "move the item down";
    ActAccept => "确认该条的编码", "accept the item's code";
    ActSearch => "编码检索（名称、编码、拼音）", "code search (name, code, pinyin)";
    ActToggleStage => "停用/启用该阶段", "switch the stage off/on";
    ActTrace => "该阶段的追踪", "trace of the stage";
    ActNextRecord => "下一份病案", "next record";
    ActPrevRecord => "上一份病案", "previous record";
    ActPicker => "选择病案", "pick a record";
    ActCopy => "复制最终编码", "copy the final codes";
    ActCopyLine => "复制病案首页行", "copy the 病案首页 line";
    ActExportJson => "导出 JSON", "export JSON";
    ActExportLine => "导出病案首页行", "export the 病案首页 line";
    ActTrainer => "培训模式开/关", "trainer mode on/off";
    ActSave => "保存", "save";
    ActClose => "关闭/取消", "close / cancel";
    ActSelect => "选取所选条目", "take the selected entry";
    ActInsertHit => "作为新条目插入", "insert as a new item";
    ActSwitchTable => "检索另一张表", "search the other table";
    ActSimilar => "相似的已编码病例（学习模型）", "similar coded cases (learned model)";
    ActAliases => "编码员教过的别名（别名记忆）", "what coders taught (alias memory)";
    ActAdopt => "把编码采用到聚焦的列表", "adopt the code into the focused list";
    ActForget => "遗忘该别名", "forget the taught alias";
    ActLocate => "字母索引浏览（主导词 → 编码）", "alphabetic index browser (lead term → code)";
    ActPages => "PDF 病案的原文页（OCR 页）", "page text of a PDF record (OCR pages)";
    ActFollow => "跟随 见/另见 参照", "follow the 见/另见 cross-reference";
    ActBack => "返回（参照之前）", "back (before the cross-reference)";
    ActTabular => "在编码检索中打开该编码", "open the code in the code search";
    ActClick => "鼠标点击", "mouse click";
    ActScroll => "鼠标滚轮", "mouse wheel";
    ActResize => "终端尺寸改变", "terminal resized";

    // ----- help overlay -------------------------------------------------
    HelpTitle => " 按键 ", " Keys ";
    HelpNormal => "主界面", "Panes";
    HelpEdit => "列表编辑", "List editor";
    HelpSearch => "编码检索（输入即检索：名称、编码、前缀、拼音）",
        "Code search (type to search: name, code, prefix, pinyin)";
    HelpPicker => "病案选择（输入编号或文字筛选）", "Record picker (type to filter by id or text)";
    HelpPopups => "帮助与追踪弹窗", "Help and trace popups";
    HelpSimilar => "相似病例（已编码的既往病案，学习模型）",
        "Similar cases (past coded records, learned model)";
    HelpAliases => "编码员别名（原文 → 编码员教过的编码）",
        "Taught aliases (raw text → codes the coders taught)";
    HelpLocate => "字母索引（输入主导词：汉字或拼音首字母）",
        "Alphabetic index (type a lead term: characters or pinyin initials)";
    HelpPages => "原文页（PDF 病案；标出 OCR 页）", "Page text (PDF records; OCR pages marked)";
    HelpLegend => "图例", "Legend";
    HelpLegendStatus =>
        "  状态  ✓ 最新  ○ 过期  · 待运行  ✎ 已编辑  ✗ 失败  ⠋ 运行中  ⊘ 停用",
        "  status   ✓ fresh  ○ stale  · pending  ✎ edited  ✗ failed  ⠋ running  ⊘ off";
    HelpLegendOrigin =>
        "  来源  A 智能体  S 检索  R 规则  C 编码员  L 学习",
        "  origin   A agent  S retrieval  R rule  C coder  L learned";
    HelpLegendMarks =>
        "  标记  ★ 主要  ! 低置信度  .93 置信度",
        "  marks    ★ principal  ! low confidence  .93 confidence";
    HelpLegendTrainer =>
        "  培训  + 新增  ↕ 移动  ~ 改名或改码  - 删除",
        "  trainer  + added  ↕ moved  ~ renamed or coded  - removed";
    HelpKeysFile =>
        "  按键可在 <config_dir>/keys.toml 或 [tui.keys] 中修改。",
        "  Keys can be changed in <config_dir>/keys.toml or [tui.keys].";

    // ----- trace popup --------------------------------------------------
    TraceTitle => " 追踪 ", " Trace ";
    TraceTitleOf => " 追踪 · {track} {stage} ", " Trace · {track} {stage} ";
    TraceStatus => "状态", "status";
    TraceStatusLine => "{status}{off} · 产出 {runs} 次 · {n} 条",
        "{status}{off} · produced {runs} time(s) · {n} item(s)";
    TraceSwitchedOff => " · 已停用", " · switched off";
    TraceError => "错误：{e}", "error: {e}";
    TraceNotRun => "（无追踪：该阶段尚未运行）", "(no trace: the stage has not run)";
    TraceMethod => "方法", "method";
    TraceStarted => "开始", "started";
    TraceElapsed => "用时", "elapsed";
    TraceCall => "── 调用 {n} · 智能体 {agent} ", "── call {n} · agent {agent} ";
    TraceMeanProb => " · 平均 p {p}", " · mean p {p}";
    TraceTokens => "词元", "tokens";
    TraceTokensLine => "提示 {prompt}（缓存 {cached}）· 生成 {generated} · {ms} ms{prob}",
        "prompt {prompt} (cached {cached}) · generated {generated} · {ms} ms{prob}";
    TraceGrammar => "语法", "grammar";
    TracePrompt => "提示词", "prompt";
    TraceRawOutput => "原始输出", "raw output";
    TraceStreaming => "正在流式输出", "streaming now";

    // ----- list editor --------------------------------------------------
    EditTitle => " 编辑 {track} {stage} · 每行一条：名称 | 编码 ",
        " Edit {track} {stage} · one item per line: name | code ";
    EditBottom => " {save} 保存 · {close} 取消 ", " {save} save · {close} cancel ";
    EditNotInTable => "{code} 不在编码表中：仅保留文字", "{code} is not in the table: kept as text only";

    // ----- code search --------------------------------------------------
    SearchTitle => " 编码检索 · {track} {system}（{table}）",
        " Code search · {track} {system} ({table}) ";
    SearchTablesLoading => "编码表加载中…", "tables loading…";
    SearchTarget => "Enter 设置{stage}列表的条目 · Tab 插入", "Enter sets the {stage} item · Tab inserts";
    SearchOtherTable => "正在浏览另一张表", "browsing the other table";
    SearchBrowseOnly => "仅浏览（聚焦列表后可应用）", "browse only (focus a list to apply)";
    SearchInfo => "{n} 条结果 · {target}", "{n} hit(s) · {target}";
    SearchLoading => "编码表仍在加载", "the code tables are still loading";
    SearchType => "输入名称、编码、编码前缀或拼音首字母",
        "type a name, a code, a code prefix or pinyin initials";
    SearchNoMatch => "无匹配", "no match";
    SearchHierarchy => "层级", "Hierarchy";
    SearchHeading => "类目：请选择其下的编码", "a heading: choose a code below it";
    SearchAliases => "别名：{list}", "aliases: {list}";
    SearchBelow => "下级：{list}", "below: {list}";
    SearchNotes => "注释", "Notes";
    SearchNoNotes => "（未加载说明注释）", "(no instructional notes loaded)";

    // ----- record picker ------------------------------------------------
    PickerTitle => " 病案 ", " Records ";
    PickerInfo => "{n}/{total} 份病案 · ✎ 有已保存的会话",
        "{n} of {total} record(s) · ✎ has a saved session";

    // ----- status lines -------------------------------------------------
    StatusNoRecord => "文件中没有病案 {id}", "no record {id} in the file";
    StatusFocusStageTrace => "先聚焦一个阶段再看追踪", "focus a stage to see its trace";
    WhatFinalCodes => "最终编码", "final codes";
    WhatHomepageLine => "病案首页行", "病案首页 line";
    StatusTrainerOn => "培训模式：开", "trainer mode on";
    StatusTrainerOff => "培训模式：关", "trainer mode off";
    StatusEditDiscarded => "已放弃编辑", "edit discarded";
    StatusSessionRestored => "{id}：已恢复会话（{n} 处编辑）", "{id}: session restored ({n} edits)";
    StatusMovedAside => "{e}（已移至 {path}）", "{e} (moved to {path})";
    StatusTakenOver => "{id}：已从 {prev} 接管（该进程已结束）",
        "{id}: taken over from {prev} (that process has ended)";
    StatusReadOnlyHeld => "{id} 只读：{holder} 正在编码；其关闭后方可编辑",
        "{id} is read-only: {holder} is coding it; edits wait until they close it";
    StatusOtherClosed => "{id}：另一位编码员已关闭", "{id}: the other coder has closed it";
    StatusReadOnlyNothing => "只读：{holder} 正在编码 {id}；未作任何改动",
        "read-only: {holder} is coding {id}; nothing was changed";
    StatusNoMoreRecords => "没有更多病案", "no more records";
    StatusRecordN => "病案 {i}/{n}：{id}", "record {i}/{n}: {id}";
    StatusReadOnlyNotSaved => "只读：未保存（{holder} 正在编码此病案）",
        "read-only: not saved ({holder} is coding this record)";
    StatusNotSaved => "未保存：{e}", "NOT SAVED: {e}";
    StatusJobRunning => "有任务在运行（Ctrl-C 取消）", "a job is running (Ctrl-C cancels it)";
    StatusEngineNotStarted => "引擎未能启动：{e}", "the engine did not start: {e}";
    StatusAllCurrent => "各阶段均为最新（r 全部重跑）", "every stage is current (r runs all again)";
    StatusCancelling => "取消中…", "cancelling…";
    StatusNothingRunning => "没有运行中的任务（q 退出）", "nothing is running (q quits)";
    StatusRan => "已运行 {stage}", "ran {stage}";
    StatusNothingToRun => "没有可运行的阶段", "nothing to run";
    StatusJobDone => "{job}：完成", "{job}: done";
    StatusDone => "完成", "done";
    StatusCancelled => "已取消；被中止的阶段将重跑", "cancelled; stopped stages will re-run";
    StatusFailed => "失败：{e}", "failed: {e}";
    StatusFocusList => "请先聚焦一个阶段列表", "focus a stage list first";
    StatusWaitJob => "请等任务结束或先取消（Ctrl-C）再编辑",
        "wait for the job or cancel it (Ctrl-C) before editing";
    StatusEditNotApplied => "{msg} —— 编辑未生效", "{msg} — the edit was not applied";
    StatusSavedStale => "{what}；已保存 · 后续 {later} 个阶段过期（R 重跑）",
        "{what}; saved · {later} later stage(s) stale (R re-runs)";
    StatusNoChange => "没有改动", "no change";
    WhatEdited => "已编辑{stage}（{n} 条）", "{stage} edited ({n} items)";
    WhatDeleted => "已删除 {text}", "deleted {text}";
    WhatMoved => "已移动 {text}", "moved {text}";
    WhatAccepted => "已确认 {what}", "accepted {what}";
    WhatInserted => "已插入 {code} {name}", "inserted {code} {name}";
    WhatSet => "已设为 {code} {name}", "set {code} {name}";
    StatusCodeNotInTable => "{code} 不在编码表中：用检索（/）找有效编码",
        "{code} is not in the table: search (/) for a valid code";
    StatusStageOff => "{stage} 已停用：其输入直接通过（R 重跑）",
        "{stage} off: its input passes through (R re-runs)";
    StatusStageOn => "{stage} 已启用（R 重跑）", "{stage} on (R re-runs)";
    StatusNoCodeSelected => "未选中编码", "no code selected";
    StatusOtherTableCode => "{code} 属于{track}表，不属于此列表",
        "{code} belongs to the {track} table, not this list";
    StatusHeading => "{code} 是类目，不是可赋予的编码", "{code} is a heading, not an assignable code";
    StatusNoFinalCodes => "尚无最终编码（请先运行各阶段）", "no final codes yet (run the stages first)";
    StatusCopied => "已通过{method}复制{what}（{n} 行）：{shown}",
        "copied {what} via {method} ({n} line(s)): {shown}";
    StatusCopyFailed => "复制失败：{e}", "copy failed: {e}";
    StatusExported => "已导出 {path}", "exported {path}";
    StatusExportFailed => "导出失败：{e}", "export failed: {e}";
    StatusLineWritten => "病案首页行已写入 {path}", "病案首页 line written to {path}";
    StatusTablesLoading => "编码表仍在加载", "the code tables are still loading";
    StatusAlreadyInList => "{code} 已在{stage}列表中", "{code} is already in the {stage} list";

    // ----- similar cases ------------------------------------------------
    SimilarNoModel => "没有学习模型：请运行 icdflow learn", "no learned model: run icdflow learn";
    SimilarNoCode => "没有可采用的编码", "no code to adopt";
    SimilarFocusList => "请先聚焦一个阶段列表：弹窗把编码采用到聚焦的列表",
        "focus a stage list first: the popup adopts into the focused list";
    SimilarNotInTable => "{code} 不在已加载的编码表中：未采用",
        "{code} is not in the loaded table: not adopted";
    SimilarSource => "相似病例 {id}", "similar case {id}";
    SimilarAdopted => "已从相似病例 {id} 采用 {code} {name}",
        "adopted {code} {name} from similar case {id}";
    SimilarTitle => " 相似病例 · {id} · {track} ", " Similar cases · {id} · {track} ";
    SimilarTarget => "Enter 采用到{stage}列表 · ✓ 已在其中",
        "Enter adopts the code into {stage} · ✓ already there";
    SimilarBrowseOnly => "仅浏览：聚焦阶段列表后可采用编码",
        "browse only: focus a stage list to adopt a code";
    SimilarInfo => "{total} 份已编码病例中最近的 {n} 份 · {target}",
        "{n} nearest of {total} coded case(s) · {target}";
    SimilarCase => "病例", "case";
    SimilarSim => "  相似  ", "  sim   ";
    SimilarSummary => "摘要 · ★ 主要", "summary · ★ principal";
    SimilarNone => "学习模型的 {total} 份病例中没有与本病案共享特征的",
        "no case in the learned model's {total} shares features with this record";
    SimilarNoCodes => "（无{track}编码）", "(no {track} codes)";
    SimilarNotInTableMark => "  不在编码表中", "  not in the table";

    // ----- taught aliases -----------------------------------------------
    AliasNotLearned => "未学习（编辑已保存）：{e}", "not learned (the edit is saved): {e}";
    AliasLearnedOne => "已学习：{list}（以后的病案同样映射）",
        "learned: {list} (next records map it the same way)";
    AliasLearnedMany => "已学习：{list}（以后的病案同样映射）",
        "learned: {list} (next records map them the same way)";
    AliasNoMemory => "没有编码员别名记忆（未能打开：见日志）",
        "no coder alias memory (it did not open: see the log)";
    AliasNothingToForget => "没有可遗忘的", "nothing to forget";
    AliasForgot => "已遗忘“{text}”（{track}）：以后的病案不再按记忆映射",
        "forgot “{text}” ({track}): next records no longer map it from memory";
    AliasNoLonger => "“{text}”已不在记忆中", "“{text}” was no longer remembered";
    AliasNotForgotten => "未遗忘：{e}", "not forgotten: {e}";
    AliasInfo => "编码员教过 {n} 条映射 · 标准化以后的病案时应用 · {forget} 遗忘",
        "{n} mapping(s) coders taught · applied when the next records are standardized · {forget} forgets";
    AliasTrack => "轨    ", "track ";
    AliasText => "原文", "text";
    AliasCodes => "→ 编码", "→ codes";
    AliasUser => "编码员", "user";
    AliasWhen => "  时间（UTC）", "  when (UTC)";
    AliasTitle => " 编码员别名 ", " Taught aliases ";
    AliasEmpty => "尚未教过：在标准化列表中确认或改正保留原文的条目，即记在这里",
        "nothing taught yet: accept or correct an item of a Standardize list that keeps its raw text, and it is remembered here";

    // ----- alphabetic index ---------------------------------------------
    LocateNoIndex => "没有字母索引：用 icdflow import --index FILE 导入",
        "no alphabetic index: import one with icdflow import --index FILE";
    LocateNoCrossRef => "此行没有 见/另见 参照", "this row has no 见/另见 cross-reference";
    LocatePathRest => "（路径其余部分不在索引中：请在下方选择）",
        " (the rest of the path is not in the index: pick below)";
    LocateNoLead => "{see} {target}：没有此名称的主导词（查其所指的疾病或表）",
        "{see} {target}: no lead term of that name (look up the condition or table it names)";
    LocateNoCodeRow => "此行无编码：选择子项或跟随“见”", "no code on this row: pick a subterm or follow 见";
    LocateNoCodeFollow => "此处无编码：→ 跟随参照", "no code here: → follows the cross-reference";
    LocateNoCodePick => "此处无编码：请选择子项", "no code here: pick a subterm";
    LocateFocusList => "{code}：请先聚焦阶段列表再确认编码",
        "{code}: focus a stage list first to accept codes into it";
    LocateWrongTrack => "{code} 是{track}编码，不属于此列表", "{code} is a {track} code, not for this list";
    LocateNotInTable => "{code} 不在已加载的编码表（{table}）中：Tab 打开编码检索",
        "{code} is not in the loaded table ({table}): Tab opens the code search";
    LocateHeading => "{code} 是类目，不是可赋予的编码：Tab 在编码检索中打开以选下级编码",
        "{code} is a heading, not an assignable code: Tab opens it in the code search to pick a subcode";
    LocateAccepted => "已从字母索引采用 {code} {name}（{path}）",
        "accepted {code} {name} from the alphabetic index ({path})";
    LocateNoOther => "未导入另一索引（icdflow import --index FILE）",
        "no other index imported (icdflow import --index FILE)";
    LocateTitle => " 字母索引 · {system} · {label} ", " Alphabetic index · {system} · {label} ";
    LocateTypeLead => "输入主导词（汉字或拼音首字母）· Ctrl-T 另一索引",
        "type a lead term (characters or pinyin initials) · Ctrl-T other index";
    LocateLeads => "{n} 个主导词 · Enter 打开 · → 跟随见 · ⚠ OCR 置信度 < 0.9",
        "{n} lead term(s) · Enter opens · → follows 见 · ⚠ OCR confidence < 0.9";
    LocateTreeInfo => "{crumb} · Enter 取编码 · → 见 · ← 返回 · Tab 类目表",
        "{crumb} · Enter takes the code · → 见 · ← back · Tab tabular";
    LocateNeoplasm => "（肿瘤表）", "(neoplasm table)";
    LocateNoMatch => "没有匹配的主导词", "no lead term matches";
    LocatePage => " · 第 {p} 页", " · p.{p}";
    LocateCodeHeading => "{printed} → {code} {name}（类目：Tab 选下级编码）",
        "{printed} → {code} {name} (heading: Tab to pick a subcode)";
    LocateCodeLoading => "{printed}（编码表仍在加载）", "{printed} (the code tables are still loading)";
    LocateCodeNotInTable => "{printed}：不在已加载的编码表中", "{printed}: not in the loaded table";
    LocateNotTerm => "{see} {target}：不是索引词", "{see} {target}: not an index term";

    // ----- page text ----------------------------------------------------
    PagesNone => "此病案不是从 PDF 读入的：没有原文页", "this record was not read from a PDF: no page text";
    PagesCheck => " · ⚠ 请对照扫描件核对", " · ⚠ check against the scan";
    PagesTextLayer => "文字层", "text layer";
    PagesHeader => "── 第 {n} 页 · {how}{secs}", "── page {n} · {how}{secs}";
    PagesTitle => " 原文页 · {id} ", " Page text · {id} ";
    PagesInfo => "共 {n} 页，{ocr} 页经 OCR 识别：其中的条目标为低置信度",
        "{n} page(s), {ocr} read by OCR: items from them are marked low-confidence";
}
