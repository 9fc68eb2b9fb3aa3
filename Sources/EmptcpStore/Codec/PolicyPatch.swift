import Yams

/// Reads patch files (format: docs/store.md, "Patch file"): bindings to add or re-point
/// (`upsert`) and binding keys to remove (`remove`), for `commit(changes:)`. A patch is small,
/// so it goes through the node tree, which keeps every line; the same limits and checks as a
/// policy file apply before the text reaches the parser (`PolicyFile.load`).
public enum PolicyPatch {
    /// Parses a patch; `file` names the source in errors. The source map names the upserted
    /// bindings `upsert[i]` and the removed keys `remove[i]`, with their lines.
    public static func parse(_ text: String, file: String) throws -> (BindingChanges, SourceMap) {
        try PolicyNesting.check(text, file: file)
        var map = SourceMap(file: file)
        map.bindingsKey = "upsert"
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw PolicyFile.yamlError(error, file: file)
        }
        guard let root else { return (BindingChanges(), map) }  // an empty patch changes nothing
        try PolicyFile.checkTags(root, map: map)
        var reader = NodeReader(map: map)
        var changes = BindingChanges()
        for (key, value) in try reader.pairs(root, key: "patch", allowed: ["upsert", "remove"]) {
            let list = try reader.items(value, key: key, allowEmpty: true)
            for (i, item) in list.enumerated() {
                let itemKey = "\(key)[\(i)]"
                if key == "upsert" {
                    reader.map.bindingLines.append(reader.line(item) ?? 0)
                    changes.upsert.append(try reader.binding(item, key: itemKey))
                } else {
                    reader.record(itemKey, item)
                    changes.remove.append(try reader.bindingKey(item, key: itemKey))
                }
            }
        }
        return (changes, reader.map)
    }

    /// Reads `path` (a regular file of at most `PolicyFile.maxFileBytes`, UTF-8) and parses it.
    public static func load(path: PolicyPath) throws -> (BindingChanges, SourceMap) {
        try parse(try PolicyFile.text(path), file: path.description)
    }
}
