//! The workspace's shape, checked: no import circle between sibling modules anywhere in any of
//! our crates — the top-level modules of a crate, and the submodules of every module
//! (`routes::analytics` and `routes::analytics_pages`, `reports::run` and `reports::deliver`),
//! so the `use` lines show a downward order (handlers → services → store). That `vitrine-app`
//! pulls in no HTTP crate at all is `.ci/run`'s `cargo tree` check.
//!
//! Every module is a node: one per file (`a.rs`, `a/mod.rs`, `a/b.rs`) and one per inline
//! `mod name { … }`. A module's edges are the `crate::…`, `super::…` and `self::…` paths in its
//! code (outside comments and string literals), resolved to the deepest module they name; a
//! name another module imports or re-exports (`crate::App`, `super::Frequency`) counts as the
//! module it comes from. An edge from `a::x::…` to `a::y::…` is an edge `x → y` in the graph
//! of `a`'s children, and no such graph may hold a circle. Plain relative paths (`child::f`)
//! can only name a module's own children or names it imported, so they add no sibling edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from the crate root: `[]` is the root, `["routes", "public"]` is
/// `crate::routes::public`.
type ModPath = Vec<String>;

/// For each module that has children: its children and, for each child, the siblings it uses.
type SiblingGraphs = BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>>;

fn workspace_crates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The code of a file without comments (doc comments included), string literals (raw and byte
/// strings too; each becomes `""`) and character literals (`' '`), so that neither a `crate::`
/// in a string nor a `'{'` can count.
fn code_of(text: &str) -> String {
    let s: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    while i < s.len() {
        let c = s[i];
        let prev = if i > 0 { s[i - 1] } else { ' ' };
        if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (at(i + 1) == '"' || at(i + 1) == '#')
            && (!is_ident(prev) || (prev == 'b' && (i < 2 || !is_ident(s[i - 2]))))
        {
            // A raw string r"…", r#"…"# (or br…): find the quote and its closing hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c); // `r#ident`
                i += 1;
                continue;
            }
            j += 1;
            while j < s.len() {
                if s[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < s.len() && s[i] != '"' {
                if s[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && at(i + 1) == '\\' {
            // '\n', '\'', '\u{7f}'
            i += 2;
            while i < s.len() && s[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && at(i + 2) == '\'' {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c); // a lifetime's `'` falls here too
            i += 1;
        }
    }
    out
}

/// One leaf of a path tree: its segments, and whether it ends in `*`, and its `as` name.
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    segments: Vec<String>,
    alias: Option<String>,
    glob: bool,
}

struct Cursor<'a> {
    s: &'a [char],
    i: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let chars: Vec<char> = token.chars().collect();
        if self.s[self.i..].starts_with(&chars) {
            self.i += chars.len();
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.i;
        if self.s.get(self.i) == Some(&'$') {
            self.i += 1; // `$crate`
        }
        while self.i < self.s.len() && is_ident(self.s[self.i]) {
            self.i += 1;
        }
        (self.i > start).then(|| self.s[start..self.i].iter().collect())
    }

    /// A path tree from here: `a::b::{c, d::{e as f, *}}`. Parsing stops at anything else
    /// (`(`, `<`, `;`), so an expression path `super::x::f(y)` gives `super::x::f`.
    fn tree(&mut self, prefix: &[String], out: &mut Vec<Leaf>) {
        let mut segments = prefix.to_vec();
        loop {
            if self.eat("{") {
                loop {
                    if self.eat("}") {
                        return;
                    }
                    self.tree(&segments, out);
                    if !self.eat(",") {
                        self.eat("}");
                        return;
                    }
                }
            }
            if self.eat("*") {
                out.push(Leaf {
                    segments,
                    alias: None,
                    glob: true,
                });
                return;
            }
            let Some(name) = self.ident() else {
                return;
            };
            segments.push(name);
            let here = self.i;
            if self.eat("::") {
                continue;
            }
            self.i = here;
            let alias = if self.eat("as ") { self.ident() } else { None };
            if alias.is_none() {
                self.i = here;
            }
            out.push(Leaf {
                segments,
                alias,
                glob: false,
            });
            return;
        }
    }
}

/// What one module's code says: the paths it names from `crate`, `super` or `self`, and its
/// `use` declarations (leaves, as written).
#[derive(Default, Debug)]
struct ModuleText {
    paths: Vec<Vec<String>>,
    uses: Vec<Leaf>,
}

/// Reads one file's code into `modules`, the file being module `base`; inline modules become
/// their own entries.
fn read_file_modules(code: &str, base: &ModPath, modules: &mut BTreeMap<ModPath, ModuleText>) {
    let s: Vec<char> = code.chars().collect();
    // Inline modules we are inside: (name, the brace depth just inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let current = |inline: &Vec<(String, usize)>| {
        let mut path = base.clone();
        path.extend(inline.iter().map(|(n, _)| n.clone()));
        path
    };
    modules.entry(base.clone()).or_default();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let boundary = i == 0 || !(is_ident(s[i - 1]) || s[i - 1] == '$');
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        if !boundary || !is_ident(c) && c != '$' {
            i += 1;
            continue;
        }
        let mut cursor = Cursor { s: &s, i };
        let word = cursor.ident().unwrap_or_default();
        if word == "mod" {
            if let Some(name) = cursor.ident()
                && cursor.eat("{")
            {
                depth += 1;
                inline.push((name, depth));
                let path = current(&inline);
                modules.entry(path).or_default();
                i = cursor.i;
                continue;
            }
            i += word.len();
        } else if word == "use" {
            let mut leaves = Vec::new();
            cursor.eat("::");
            cursor.tree(&[], &mut leaves);
            let path = current(&inline);
            let module = modules.entry(path).or_default();
            for leaf in &leaves {
                if matches!(
                    leaf.segments.first().map(String::as_str),
                    Some("crate" | "$crate" | "super" | "self")
                ) {
                    module.paths.push(leaf.segments.clone());
                }
            }
            module.uses.extend(leaves);
            i = cursor.i.max(i + 3);
        } else if matches!(word.as_str(), "crate" | "$crate" | "super" | "self") && cursor.eat("::")
        {
            let mut leaves = Vec::new();
            cursor.i = i;
            cursor.tree(&[], &mut leaves);
            let path = current(&inline);
            let module = modules.entry(path).or_default();
            module
                .paths
                .extend(leaves.into_iter().map(|leaf| leaf.segments));
            i = cursor.i.max(i + word.len());
        } else {
            i += word.len().max(1);
        }
    }
}

/// A crate's modules and what each one names.
struct Crate {
    modules: BTreeMap<ModPath, ModuleText>,
    /// For each module, the names its `use` declarations bring in, as absolute paths.
    imports: BTreeMap<ModPath, BTreeMap<String, Vec<String>>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = Vec::new();
        rust_files(src, &mut files);
        let has_lib = src.join("lib.rs").is_file();
        let mut modules = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = relative
                .components()
                .filter_map(|c| c.as_os_str().to_str().map(str::to_owned))
                .collect();
            if parts.first().is_some_and(|p| p == "bin") {
                continue; // other crates
            }
            if parts == ["main.rs"] && has_lib {
                continue; // the binary's own root, a crate of its own
            }
            let last = parts.pop().unwrap_or_default();
            let stem = last.trim_end_matches(".rs");
            if !(parts.is_empty() && (stem == "lib" || stem == "main")) && stem != "mod" {
                parts.push(stem.to_owned());
            }
            let text = std::fs::read_to_string(&file).expect("readable source");
            read_file_modules(&code_of(&text), &parts, &mut modules);
        }
        let mut krate = Crate {
            modules,
            imports: BTreeMap::new(),
        };
        let mut imports = BTreeMap::new();
        for (module, text) in &krate.modules {
            let names: &mut BTreeMap<String, Vec<String>> =
                imports.entry(module.clone()).or_default();
            for leaf in &text.uses {
                if leaf.glob {
                    continue;
                }
                let Some(absolute) = krate.absolute(module, &leaf.segments) else {
                    continue;
                };
                let mut absolute = absolute;
                if absolute.last().is_some_and(|s| s == "self") {
                    absolute.pop();
                }
                let Some(last) = absolute.last().cloned() else {
                    continue;
                };
                let name = leaf.alias.clone().unwrap_or(last);
                if name != "_" {
                    names.insert(name, absolute);
                }
            }
        }
        krate.imports = imports;
        krate
    }

    /// `segments` as written in `module`, made absolute; `None` for another crate's path.
    fn absolute(&self, module: &ModPath, segments: &[String]) -> Option<Vec<String>> {
        let mut out: Vec<String>;
        let mut rest = segments;
        match segments.first().map(String::as_str) {
            Some("crate" | "$crate") => {
                out = Vec::new();
                rest = &segments[1..];
            }
            Some("self") => {
                out = module.clone();
                rest = &segments[1..];
            }
            Some("super") => {
                out = module.clone();
                while rest.first().is_some_and(|s| s == "super") {
                    out.pop();
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                // 2018 paths: a child module of this one, else another crate.
                let mut child = module.clone();
                child.push(first.to_owned());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                out = module.clone();
            }
            None => return None,
        }
        out.extend(rest.iter().cloned());
        Some(out)
    }

    /// The deepest module an absolute path names, following imports and re-exports.
    fn target(&self, path: &[String], hops: usize) -> ModPath {
        let mut module: ModPath = Vec::new();
        for (at, segment) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(segment.clone());
            if self.modules.contains_key(&child) {
                module = child;
                continue;
            }
            if hops < 8
                && let Some(imported) = self.imports.get(&module).and_then(|m| m.get(segment))
            {
                let mut further = imported.clone();
                further.extend(path[at + 1..].iter().cloned());
                return self.target(&further, hops + 1);
            }
            break;
        }
        module
    }

    /// For each module with children, the graph of its children.
    fn sibling_graphs(&self) -> SiblingGraphs {
        let mut graphs: SiblingGraphs = BTreeMap::new();
        for module in self.modules.keys() {
            if let Some((name, parent)) = module.split_last() {
                graphs
                    .entry(parent.to_vec())
                    .or_default()
                    .entry(name.clone())
                    .or_default();
            }
        }
        for (module, text) in &self.modules {
            for path in &text.paths {
                let Some(absolute) = self.absolute(module, path) else {
                    continue;
                };
                let target = self.target(&absolute, 0);
                let shared = module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                if shared < module.len() && shared < target.len() {
                    graphs
                        .entry(module[..shared].to_vec())
                        .or_default()
                        .entry(module[shared].clone())
                        .or_default()
                        .insert(target[shared].clone());
                }
            }
        }
        graphs
    }
}

fn sibling_graphs(src: &Path) -> SiblingGraphs {
    Crate::read(src).sibling_graphs()
}

/// One cycle of the graph, if there is any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// The groups of modules that reach each other (strongly connected, more than one module).
fn tangles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(node) = todo.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reach(n))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (node, from_here) in &reached {
        if groups.iter().any(|g| g.contains(*node)) {
            continue;
        }
        let group: BTreeSet<String> = from_here
            .iter()
            .filter(|other| reached.get(other).is_some_and(|r| r.contains(*node)))
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}

/// Every circle of sibling modules in the crate at `src`, as `in parent: a → b → a`, one per
/// group of modules that use each other; and how many modules were checked.
fn circles(src: &Path) -> (usize, Vec<String>) {
    let graphs = sibling_graphs(src);
    let modules = graphs.values().map(BTreeMap::len).sum();
    let mut found = Vec::new();
    for (parent, graph) in &graphs {
        let parent = if parent.is_empty() {
            "crate".to_owned()
        } else {
            format!("crate::{}", parent.join("::"))
        };
        for group in tangles(graph) {
            let within: BTreeMap<String, BTreeSet<String>> = group
                .iter()
                .map(|n| (n.clone(), &graph[n] & &group))
                .collect();
            let cycle = find_cycle(&within).expect("a group that reaches itself has a cycle");
            found.push(format!("in {parent}: {}", cycle.join(" → ")));
        }
    }
    (modules, found)
}

#[test]
fn no_crate_has_an_import_circle_between_sibling_modules() {
    let mut checked = 0;
    let mut nested = 0;
    let mut all = Vec::new();
    for entry in std::fs::read_dir(workspace_crates()).unwrap().flatten() {
        let src = entry.path().join("src");
        if !src.is_dir() {
            continue;
        }
        nested += sibling_graphs(&src)
            .keys()
            .filter(|p| !p.is_empty())
            .count();
        let (modules, found) = circles(&src);
        checked += modules;
        for circle in found {
            all.push(format!("{}: {circle}", entry.file_name().to_string_lossy()));
        }
    }
    assert!(
        checked > 150 && nested > 20,
        "found only {checked} modules, {nested} with children: is the path right?"
    );
    assert!(all.is_empty(), "import circles:\n{}", all.join("\n"));
}

fn write(src: &Path, file: &str, text: &str) {
    let path = src.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_checker_finds_a_circle_through_a_re_export() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    write(src, "lib.rs", "mod a; mod b;\npub use a::{Thing, other};\n");
    write(src, "a.rs", "use crate::b::Other;\npub struct Thing;\n");
    write(src, "b/mod.rs", "mod c;\n");
    // `crate::Thing` is `a`'s, and a comment mentioning crate::zzz is no edge.
    write(src, "b/c.rs", "// crate::zzz\nuse crate::{Thing};\n");
    let graphs = sibling_graphs(src);
    assert_eq!(graphs[&vec![]]["b"], BTreeSet::from(["a".to_owned()]));
    assert!(find_cycle(&graphs[&vec![]]).is_some());
    write(src, "b/c.rs", "pub struct Other;\n");
    assert!(circles(src).1.is_empty());
}

#[test]
fn the_checker_finds_a_circle_between_nested_siblings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    write(src, "lib.rs", "pub mod reports;\n");
    write(
        src,
        "reports/mod.rs",
        "mod deliver;\nmod run;\nmod spec;\npub use spec::{Frequency, parse as parse_spec};\n",
    );
    write(
        src,
        "reports/spec.rs",
        "pub struct Frequency;\npub fn parse() {}\n",
    );
    write(
        src,
        "reports/run.rs",
        "use super::{Frequency, deliver};\nfn f() { deliver::send() }\n",
    );
    // An expression path back to `run` closes the circle …
    write(
        src,
        "reports/deliver.rs",
        "pub fn send() { super::run::go(\"crate::x\") }\n",
    );
    let graphs = sibling_graphs(src);
    let reports = &graphs[&vec!["reports".to_owned()]];
    assert_eq!(
        reports["run"],
        BTreeSet::from(["deliver".to_owned(), "spec".to_owned()])
    );
    assert_eq!(reports["deliver"], BTreeSet::from(["run".to_owned()]));
    let (_, found) = circles(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("in crate::reports: "), "{found:?}");

    // … and so does one through a re-export of the parent, written with `crate::`.
    write(
        src,
        "reports/spec.rs",
        "pub struct Frequency;\npub fn parse() { crate::reports::Runner::go() }\n",
    );
    write(
        src,
        "reports/mod.rs",
        "mod deliver;\nmod run;\nmod spec;\npub use spec::{Frequency, parse as parse_spec};\n\
         pub(crate) use self::run::Runner;\n",
    );
    write(src, "reports/deliver.rs", "pub fn send() {}\n");
    let (_, found) = circles(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("spec"), "{found:?}");

    // Moving the shared item down removes it; strings, chars, inline test modules and
    // comments add no edge.
    write(
        src,
        "reports/spec.rs",
        "pub struct Frequency;\npub fn parse() {}\n",
    );
    write(
        src,
        "reports/deliver.rs",
        "pub fn send() { crate::reports::parse_spec(); let _ = r#\"super::run\"#; }\n\
         /* super::run::go() */\n\
         #[cfg(test)]\nmod tests {\n    use super::*;\n    fn brace() -> char { '{' }\n    \
         fn t() { send() }\n}\n\
         fn after() { let _ = '}'; }\n",
    );
    let graphs = sibling_graphs(src);
    let reports = &graphs[&vec!["reports".to_owned()]];
    assert_eq!(reports["deliver"], BTreeSet::from(["spec".to_owned()]));
    assert!(graphs.contains_key(&vec!["reports".to_owned(), "deliver".to_owned()]));
    assert!(circles(src).1.is_empty(), "{:?}", circles(src).1);
}
