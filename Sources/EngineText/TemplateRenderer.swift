internal import Foundation

/// A variable scope: the template's top level, a loop iteration, a macro call or a `{% with %}` block.
final class TemplateScope {
    var variables: [String: TemplateValue] = [:]
    let parent: TemplateScope?

    init(parent: TemplateScope?) {
        self.parent = parent
    }

    func lookup(_ name: String) -> TemplateValue? {
        var scope: TemplateScope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return nil
    }
}

/// Evaluates template statements and expressions with jinja2's semantics (Python values, default `Undefined`,
/// jinja2's scoping: loop iterations, macros and `with` blocks have their own variables; `if` does not).
struct TemplateRenderer {
    enum Flow {
        case normal
        case breakLoop
        case continueLoop
    }

    struct MacroClosure {
        var macro: TemplateMacro
        var scope: TemplateScope
        var caller: Int?
    }

    struct LoopState {
        var items: [TemplateValue]
        var index0: Int
        var depth0: Int
        var loop: TemplateLoop
        var scope: TemplateScope
        var lastChanged: [TemplateValue]?
    }

    let globals: [String: TemplateValue]
    let now: Date
    var root: TemplateScope
    var macros: [MacroClosure] = []
    var namespaces: [[TemplateValue.Pair]] = []
    var loops: [LoopState] = []

    static let builtinFunctions: Set<String> = [
        "range", "namespace", "raise_exception", "strftime_now", "dict", "lipsum", "cycler", "joiner",
    ]

    init(globals: [String: TemplateValue], now: Date) {
        self.globals = globals
        self.now = now
        root = TemplateScope(parent: nil)
    }

    mutating func render(_ nodes: [TemplateNode]) throws(TemplateError) -> String {
        var out = ""
        _ = try run(nodes, scope: root, into: &out)
        return out
    }

    func lookup(_ name: String, _ scope: TemplateScope) -> TemplateValue {
        if let v = scope.lookup(name) { return v }
        if let v = globals[name] { return v }
        if Self.builtinFunctions.contains(name) { return .object(TemplateObject(.function(name))) }
        return .undefined
    }

    static func located<T>(_ line: Int, _ body: () throws(TemplateError) -> T) throws(TemplateError) -> T {
        do {
            return try body()
        } catch {
            var e = error
            if e.line == nil { e.line = line }
            throw e
        }
    }

    // MARK: Statements

    mutating func run(
        _ nodes: [TemplateNode],
        scope: TemplateScope,
        into out: inout String
    ) throws(TemplateError) -> Flow {
        for node in nodes {
            let flow = try run(node, scope: scope, into: &out)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    mutating func run(_ node: TemplateNode, scope: TemplateScope, into out: inout String) throws(TemplateError) -> Flow
    {
        switch node {
        case .text(let t): out += t
        case .output(let e, let line):
            let v = try Self.located(line) { () throws(TemplateError) in try eval(e, scope) }
            out += try Self.located(line) { () throws(TemplateError) in try str(v) }
        case .ifBlock(let branches, let otherwise, let line):
            for branch in branches {
                let taken = try Self.located(line) { () throws(TemplateError) in
                    try truthy(try eval(branch.condition, scope))
                }
                if taken { return try run(branch.body, scope: scope, into: &out) }
            }
            return try run(otherwise, scope: scope, into: &out)
        case .forBlock(let loop, let line):
            let items = try Self.located(line) { () throws(TemplateError) in
                try iterate(try eval(loop.iterable, scope))
            }
            try Self.located(line) { () throws(TemplateError) in
                try runLoop(loop, items: items, depth0: 0, scope: scope, into: &out)
            }
        case .set(let target, let e, let line):
            try Self.located(line) { () throws(TemplateError) in
                try assign(target, try eval(e, scope), scope)
            }
        case .setBlock(let target, let filter, let body, let line):
            var text = ""
            _ = try run(body, scope: scope, into: &text)
            try Self.located(line) { () throws(TemplateError) in
                var value = TemplateValue.string(text)
                if let filter { value = try eval(filter, scope, input: value) }
                try assign(target, value, scope)
            }
        case .macro(let macro, _):
            macros.append(MacroClosure(macro: macro, scope: scope, caller: nil))
            scope.variables[macro.name] = .object(TemplateObject(.macro(macros.count - 1)))
        case .callBlock(let call, let caller, let line):
            macros.append(MacroClosure(macro: caller, scope: scope, caller: nil))
            let callerID = macros.count - 1
            guard case .call(let callee, let arguments) = call else { break }
            let result = try Self.located(line) { () throws(TemplateError) in
                let f = try eval(callee, scope)
                let (positional, named) = try evalArguments(arguments, scope)
                return try callValue(f, positional, named, caller: callerID)
            }
            out += try str(result)
        case .filterBlock(let filter, let body, let line):
            var text = ""
            _ = try run(body, scope: scope, into: &text)
            let value = try Self.located(line) { () throws(TemplateError) in
                try eval(filter, scope, input: .string(text))
            }
            out += try str(value)
        case .with(let assignments, let body, let line):
            let inner = TemplateScope(parent: scope)
            for a in assignments {
                try Self.located(line) { () throws(TemplateError) in
                    try assign(a.target, try eval(a.value, scope), inner)
                }
            }
            return try run(body, scope: inner, into: &out)
        case .generation(let body):
            return try run(body, scope: scope, into: &out)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    mutating func runLoop(
        _ loop: TemplateLoop,
        items all: [TemplateValue],
        depth0: Int,
        scope: TemplateScope,
        into out: inout String
    ) throws(TemplateError) {
        var items = all
        if let condition = loop.condition {
            items = []
            for item in all {
                let probe = TemplateScope(parent: scope)
                try assign(loop.target, item, probe)
                if try truthy(try eval(condition, probe)) { items.append(item) }
            }
        }
        if items.isEmpty {
            _ = try run(loop.otherwise, scope: scope, into: &out)
            return
        }
        loops.append(LoopState(items: items, index0: 0, depth0: depth0, loop: loop, scope: scope))
        let id = loops.count - 1
        for (i, item) in items.enumerated() {
            loops[id].index0 = i
            let inner = TemplateScope(parent: scope)
            try assign(loop.target, item, inner)
            inner.variables["loop"] = .object(TemplateObject(.loop(id)))
            if case .breakLoop = try run(loop.body, scope: inner, into: &out) { break }
        }
    }

    mutating func assign(_ target: TemplateTarget, _ value: TemplateValue, _ scope: TemplateScope) throws(TemplateError)
    {
        switch target {
        case .name(let n): scope.variables[n] = value
        case .tuple(let targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw TemplateError(
                    .type,
                    items.count > targets.count
                        ? "too many values to unpack (expected \(targets.count))"
                        : "not enough values to unpack (expected \(targets.count), got \(items.count))"
                )
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        case .namespaceAttribute(let name, let attribute):
            guard case .namespace(let id) = lookup(name, scope) else {
                throw TemplateError(.type, "cannot assign attribute on non-namespace object")
            }
            if attribute.hasPrefix("_") {
                throw TemplateError(.security, "Chat templates cannot store underscore-prefixed attributes")
            }
            if let i = namespaces[id].firstIndex(where: { $0.key == attribute }) {
                namespaces[id][i].value = value
            } else {
                namespaces[id].append(TemplateValue.Pair(attribute, value))
            }
        }
    }

    // MARK: Expressions

    /// Evaluates an expression; `input` is the body text of a filter block (a filter whose base is `nil`).
    mutating func eval(
        _ e: TemplateExpr,
        _ scope: TemplateScope,
        input: TemplateValue = .undefined
    ) throws(TemplateError) -> TemplateValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return lookup(n, scope)
        case .list(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try eval(item, scope)) }
            return .list(values)
        case .tuple(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try eval(item, scope)) }
            return .tuple(values)
        case .dict(let pairs):
            var result: [TemplateValue.Pair] = []
            for pair in pairs {
                let key = try eval(pair.key, scope)
                let value = try eval(pair.value, scope)
                try checkHashable(key)
                if let i = result.firstIndex(where: { Self.equal($0.keyValue, key) }) {
                    result[i].value = value
                } else {
                    result.append(TemplateValue.Pair(key: key, value: value))
                }
            }
            return .dict(result)
        case .attribute(let base, let name):
            return try attribute(try defined(base, scope), name)
        case .item(let base, let key):
            return try item(try defined(base, scope), try eval(key, scope))
        case .slice(let base, let start, let stop, let step):
            let b = try defined(base, scope)
            let lo = try start.map { (x) throws(TemplateError) in try eval(x, scope) }
            let hi = try stop.map { (x) throws(TemplateError) in try eval(x, scope) }
            let st = try step.map { (x) throws(TemplateError) in try eval(x, scope) }
            return try slice(b, lo, hi, st)
        case .call(let callee, let arguments):
            let f = try defined(callee, scope)
            let (positional, named) = try evalArguments(arguments, scope)
            return try callValue(f, positional, named, caller: nil)
        case .filter(let base, let name, let arguments):
            let value = try base.map { (x) throws(TemplateError) in try eval(x, scope, input: input) } ?? input
            let (positional, named) = try evalArguments(arguments, scope)
            return try filter(value, name, positional, named)
        case .test(let base, let name, let arguments):
            let value = try eval(base, scope)
            let (positional, _) = try evalArguments(arguments, scope)
            return .bool(try test(value, name, positional))
        case .not(let x): return .bool(!(try truthy(try eval(x, scope))))
        case .negate(let x):
            switch try defined(x, scope) {
            case .int(let i): return .int(-i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .double(let d): return .double(-d)
            case .undefined: throw TemplateError(.undefined, "undefined value negated")
            case let v: throw TemplateError(.type, "bad operand type for unary -: '\(typeName(v))'")
            }
        case .positive(let x):
            let v = try eval(x, scope)
            switch v {
            case .int, .double: return v
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw TemplateError(.type, "bad operand type for unary +: '\(typeName(v))'")
            }
        case .binary("+", _, _): return try evalMarkup(e, scope).value
        case .binary("~", let l, let r): return try binary("~", try eval(l, scope), try eval(r, scope))
        case .binary(let op, let l, let r):
            return try binary(op, try defined(l, scope), try defined(r, scope))
        case .compare(let first, let steps):
            let ordered: Set<String> = ["<", ">", "<=", ">="]
            var left = try ordered.contains(steps[0].op) ? defined(first, scope) : eval(first, scope)
            for step in steps {
                let right = try ordered.contains(step.op) ? defined(step.operand, scope) : eval(step.operand, scope)
                guard try compare(step.op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let l, let r):
            let a = try eval(l, scope)
            return try truthy(a) ? try eval(r, scope) : a
        case .or(let l, let r):
            let a = try eval(l, scope)
            return try truthy(a) ? a : try eval(r, scope)
        case .conditional(let condition, let then, let otherwise):
            if try truthy(try eval(condition, scope)) { return try eval(then, scope) }
            return try otherwise.map { (x) throws(TemplateError) in try eval(x, scope) } ?? .undefined
        }
    }

    /// Evaluates an operand of `+`, noting markupsafe's `Markup` strings (what `|safe` and `|escape` return): a
    /// `Markup` added to a plain string escapes the plain string (jinja2 without autoescape keeps this behaviour).
    mutating func evalMarkup(
        _ e: TemplateExpr,
        _ scope: TemplateScope
    ) throws(TemplateError) -> (value: TemplateValue, isMarkup: Bool) {
        switch e {
        case .filter(_, let name, _) where ["safe", "e", "escape", "forceescape"].contains(name):
            return (.string(try str(try eval(e, scope))), true)
        case .binary("+", let l, let r):
            let (a, markupA) = try evalMarkup(l, scope)
            if case .undefined = a { throw try undefinedError(l, scope) }
            let (b, markupB) = try evalMarkup(r, scope)
            if case .undefined = b { throw try undefinedError(r, scope) }
            guard markupA || markupB else { return (try binary("+", a, b), false) }
            guard case .string(let x) = a, case .string(let y) = b else { return (try binary("+", a, b), false) }
            let left = markupA ? x : TemplateBuiltins.escapeHTML(x)
            let right = markupB ? y : TemplateBuiltins.escapeHTML(y)
            return (.string(left + right), true)
        default:
            return (try eval(e, scope), false)
        }
    }

    /// Evaluates an expression whose value must not be undefined (jinja2's `Undefined` raises when used).
    mutating func defined(_ e: TemplateExpr, _ scope: TemplateScope) throws(TemplateError) -> TemplateValue {
        let v = try eval(e, scope)
        if case .undefined = v { throw try undefinedError(e, scope) }
        return v
    }

    /// jinja2's message for an undefined value, from the expression that produced it.
    mutating func undefinedError(_ e: TemplateExpr, _ scope: TemplateScope) throws(TemplateError) -> TemplateError {
        func owner(_ base: TemplateExpr) throws(TemplateError) -> String {
            let v = try eval(base, scope)
            switch v {
            case .none: return "None"
            case .namespace: return "Namespace object"
            default: return "\(typeName(v)) object"
            }
        }
        switch e {
        case .name(let n): return TemplateError(.undefined, "'\(n)' is undefined")
        case .attribute(let base, let name):
            return TemplateError(.undefined, "'\(try owner(base))' has no attribute '\(name)'")
        case .item(let base, let key):
            let k = try eval(key, scope)
            if case .string(let name) = k {
                return TemplateError(.undefined, "'\(try owner(base))' has no attribute '\(name)'")
            }
            return TemplateError(.undefined, "'\(try owner(base))' has no element \(k.repr)")
        default: return TemplateError(.undefined, "an undefined value was used")
        }
    }

    mutating func evalArguments(
        _ arguments: TemplateArguments,
        _ scope: TemplateScope
    ) throws(TemplateError) -> ([TemplateValue], [TemplateValue.Pair]) {
        var positional: [TemplateValue] = []
        for a in arguments.positional { positional.append(try eval(a, scope)) }
        var named: [TemplateValue.Pair] = []
        for a in arguments.named { named.append(TemplateValue.Pair(a.name, try eval(a.value, scope))) }
        if let star = arguments.star { positional += try iterate(try eval(star, scope)) }
        if let starStar = arguments.starStar {
            guard case .dict(let pairs) = try eval(starStar, scope) else {
                throw TemplateError(.type, "argument after ** must be a mapping")
            }
            named += pairs
        }
        return (positional, named)
    }

    func truthy(_ v: TemplateValue) throws(TemplateError) -> Bool {
        if case .namespace = v { return true }
        return v.isTruthy
    }

    /// Python's `str()` of a value as `{{ }}` prints it.
    func str(_ v: TemplateValue) throws(TemplateError) -> String {
        if case .namespace(let id) = v {
            return "<Namespace {"
                + namespaces[id].map { TemplateValue.pythonRepr($0.key) + ": " + $0.value.repr }
                .joined(separator: ", ") + "}>"
        }
        return v.rendered
    }

    func checkHashable(_ key: TemplateValue) throws(TemplateError) {
        switch key {
        case .list, .dict, .namespace: throw TemplateError(.type, "unhashable type: '\(typeName(key))'")
        default: return
        }
    }

    /// The value under `key` in a dict's pairs (Python's equality: `1`, `1.0` and `True` are the same key).
    static func lookup(_ pairs: [TemplateValue.Pair], _ key: TemplateValue) -> TemplateValue? {
        if case .string(let k) = key { return pairs.first { $0.nonStringKey == nil && $0.key == k }?.value }
        return pairs.first { equal($0.keyValue, key) }?.value
    }

    func typeName(_ v: TemplateValue) -> String {
        switch v {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .object(let o):
            switch o.kind {
            case .tuple: return "tuple"
            case .generator: return "generator"
            case .macro: return "Macro"
            case .function: return "function"
            case .method: return "builtin_function_or_method"
            case .loop: return "LoopContext"
            }
        }
    }

    /// What `for` iterates: list items, dict keys, string characters; nothing for undefined.
    func iterate(_ v: TemplateValue) throws(TemplateError) -> [TemplateValue] {
        switch v {
        case .undefined: return []
        case .list(let items): return items
        case .dict(let pairs): return pairs.map(\.keyValue)
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .object(let o):
            switch o.kind {
            case .tuple(let items), .generator(let items): return items
            default: break
            }
        default: break
        }
        throw TemplateError(.type, "'\(typeName(v))' object is not iterable")
    }

    static let dictMethods: Set<String> = [
        "items", "keys", "values", "get", "pop", "update", "copy", "clear", "setdefault", "popitem",
    ]
    static let listMethods: Set<String> = [
        "append", "pop", "index", "count", "insert", "extend", "remove", "reverse", "sort", "clear", "copy",
    ]
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "join", "format", "isdigit",
        "isalpha", "isalnum", "isspace", "isupper", "islower", "isnumeric", "isdecimal", "istitle", "zfill", "center",
        "ljust", "rjust", "partition", "rpartition", "removeprefix", "removesuffix", "swapcase", "casefold",
        "expandtabs", "encode",
    ]

    /// jinja2's `getattr`: the Python attribute (a method), else the item.
    func attribute(_ base: TemplateValue, _ name: String) throws(TemplateError) -> TemplateValue {
        switch base {
        case .undefined: throw TemplateError(.undefined, "'\(name)' of an undefined value is undefined")
        case .dict(let pairs):
            if Self.dictMethods.contains(name) { return .object(TemplateObject(.method(base, name))) }
            return Self.lookup(pairs, .string(name)) ?? .undefined
        case .string:
            if Self.stringMethods.contains(name) { return .object(TemplateObject(.method(base, name))) }
        case .list:
            if Self.listMethods.contains(name) { return .object(TemplateObject(.method(base, name))) }
        case .namespace(let id):
            return namespaces[id].first { $0.key == name }?.value ?? .undefined
        case .object(let o):
            switch o.kind {
            case .tuple: if ["index", "count"].contains(name) { return .object(TemplateObject(.method(base, name))) }
            case .loop(let id): return loopAttribute(id, name, base)
            default: break
            }
        default: break
        }
        return .undefined
    }

    func loopAttribute(_ id: Int, _ name: String, _ base: TemplateValue) -> TemplateValue {
        let state = loops[id]
        let i = state.index0
        let n = state.items.count
        switch name {
        case "index": return .int(i + 1)
        case "index0": return .int(i)
        case "revindex": return .int(n - i)
        case "revindex0": return .int(n - i - 1)
        case "first": return .bool(i == 0)
        case "last": return .bool(i == n - 1)
        case "length": return .int(n)
        case "depth": return .int(state.depth0 + 1)
        case "depth0": return .int(state.depth0)
        case "previtem": return i > 0 ? state.items[i - 1] : .undefined
        case "nextitem": return i + 1 < n ? state.items[i + 1] : .undefined
        case "cycle", "changed": return .object(TemplateObject(.method(base, name)))
        default: return .undefined
        }
    }

    /// jinja2's `getitem`: the item, else the attribute for a string key.
    func item(_ base: TemplateValue, _ key: TemplateValue) throws(TemplateError) -> TemplateValue {
        switch (base, key) {
        case (.undefined, _): throw TemplateError(.undefined, "\(key.repr) of an undefined value is undefined")
        case (.dict(let pairs), _):
            if let v = Self.lookup(pairs, key) { return v }
        case (.string(let s), .int(let i)):
            let chars = Array(s.unicodeScalars)
            let j = i < 0 ? chars.count + i : i
            if chars.indices.contains(j) { return .string(String(chars[j])) }
            return .undefined
        default:
            if let items = base.sequence, case .int(let i) = key {
                if case .object(let o) = base, case .generator = o.kind { return .undefined }
                let j = i < 0 ? items.count + i : i
                return items.indices.contains(j) ? items[j] : .undefined
            }
        }
        if case .string(let name) = key { return try attribute(base, name) }
        return .undefined
    }

    func slice(
        _ base: TemplateValue,
        _ start: TemplateValue?,
        _ stop: TemplateValue?,
        _ step: TemplateValue?
    ) throws(TemplateError) -> TemplateValue {
        func int(_ v: TemplateValue?) throws(TemplateError) -> Int? {
            switch v {
            case nil, .none?: return nil
            case .int(let i)?: return i
            case .bool(let b)?: return b ? 1 : 0
            default: throw TemplateError(.type, "slice indices must be integers or None")
            }
        }
        let stepValue = try int(step) ?? 1
        guard stepValue != 0 else { throw TemplateError(.type, "slice step cannot be zero") }
        func indices(_ count: Int) throws(TemplateError) -> [Int] {
            func clamp(_ v: Int?, _ defaultValue: Int) -> Int {
                guard var i = v else { return defaultValue }
                if i < 0 { i += count }
                if stepValue > 0 { return min(max(i, 0), count) }
                return min(max(i, -1), count - 1)
            }
            let lo = clamp(try int(start), stepValue > 0 ? 0 : count - 1)
            let hi = clamp(try int(stop), stepValue > 0 ? count : -1)
            return Array(stride(from: lo, to: hi, by: stepValue))
        }
        switch base {
        case .undefined: throw TemplateError(.undefined, "slice of an undefined value")
        case .string(let s):
            let chars = Array(s.unicodeScalars)
            return .string(String(String.UnicodeScalarView(try indices(chars.count).map { chars[$0] })))
        case .list(let items): return .list(try indices(items.count).map { items[$0] })
        case .object(let o):
            if case .tuple(let items) = o.kind { return .tuple(try indices(items.count).map { items[$0] }) }
        default: break
        }
        return .undefined
    }

    // MARK: Calls

    mutating func callValue(
        _ f: TemplateValue,
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair],
        caller: Int?
    ) throws(TemplateError) -> TemplateValue {
        guard case .object(let o) = f else {
            if case .undefined = f { throw TemplateError(.undefined, "an undefined value was called") }
            throw TemplateError(.type, "'\(typeName(f))' object is not callable")
        }
        switch o.kind {
        case .macro(let id): return try callMacro(id, args, named, caller: caller)
        case .function(let name): return try callFunction(name, args, named)
        case .method(let base, let name):
            if case .object(let b) = base, case .loop(let id) = b.kind { return try loopMethod(id, name, args) }
            return try method(base, name, args, named)
        case .loop(let id):
            let state = loops[id]
            var out = ""
            guard state.loop.recursive else { throw TemplateError(.type, "the loop is not recursive") }
            try runLoop(
                state.loop,
                items: try iterate(args.first ?? .undefined),
                depth0: state.depth0 + 1,
                scope: state.scope,
                into: &out
            )
            return .string(out)
        default: throw TemplateError(.type, "'\(typeName(f))' object is not callable")
        }
    }

    mutating func loopMethod(_ id: Int, _ name: String, _ args: [TemplateValue]) throws(TemplateError) -> TemplateValue
    {
        if name == "cycle" {
            guard !args.isEmpty else { throw TemplateError(.type, "no items for cycling given") }
            return args[loops[id].index0 % args.count]
        }
        if loops[id].lastChanged == args { return .bool(false) }
        loops[id].lastChanged = args
        return .bool(true)
    }

    mutating func callMacro(
        _ id: Int,
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair],
        caller: Int?
    ) throws(TemplateError) -> TemplateValue {
        let closure = macros[id]
        let scope = TemplateScope(parent: closure.scope)
        var remaining = named
        for (i, parameter) in closure.macro.parameters.enumerated() {
            if i < args.count {
                scope.variables[parameter.name] = args[i]
            } else if let j = remaining.firstIndex(where: { $0.key == parameter.name }) {
                scope.variables[parameter.name] = remaining.remove(at: j).value
            } else if let d = parameter.defaultValue {
                scope.variables[parameter.name] = try eval(d, scope)
            } else {
                scope.variables[parameter.name] = .undefined
            }
        }
        let extra = Array(args.dropFirst(closure.macro.parameters.count))
        scope.variables["varargs"] = .tuple(extra)
        scope.variables["kwargs"] = .dict(remaining)
        if let caller {
            scope.variables["caller"] = .object(TemplateObject(.macro(caller)))
        } else if let j = remaining.firstIndex(where: { $0.key == "caller" }) {
            scope.variables["caller"] = remaining[j].value
        }
        var out = ""
        _ = try run(closure.macro.body, scope: scope, into: &out)
        return .string(out)
    }

    mutating func callFunction(
        _ name: String,
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair]
    ) throws(TemplateError) -> TemplateValue {
        switch name {
        case "raise_exception":
            throw TemplateError(.raised, try str(args.first ?? named.first?.value ?? .undefined))
        case "namespace":
            var pairs: [TemplateValue.Pair] = []
            if case .dict(let initial)? = args.first { pairs = initial }
            for p in named {
                if p.key.hasPrefix("_") {
                    throw TemplateError(.security, "Chat templates cannot store underscore-prefixed attributes")
                }
                if let i = pairs.firstIndex(where: { $0.key == p.key }) {
                    pairs[i].value = p.value
                } else {
                    pairs.append(p)
                }
            }
            namespaces.append(pairs)
            return .namespace(namespaces.count - 1)
        case "dict":
            var pairs: [TemplateValue.Pair] = []
            if case .dict(let initial)? = args.first { pairs = initial }
            for p in named {
                if let i = pairs.firstIndex(where: { $0.key == p.key }) {
                    pairs[i].value = p.value
                } else {
                    pairs.append(p)
                }
            }
            return .dict(pairs)
        case "range":
            var ints: [Int] = []
            for a in args {
                switch a {
                case .int(let i): ints.append(i)
                case .bool(let b): ints.append(b ? 1 : 0)
                default: throw TemplateError(.type, "'\(typeName(a))' object cannot be interpreted as an integer")
                }
            }
            let (start, stop, step): (Int, Int, Int)
            switch ints.count {
            case 1: (start, stop, step) = (0, ints[0], 1)
            case 2: (start, stop, step) = (ints[0], ints[1], 1)
            case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
            default: throw TemplateError(.type, "range expected 1 to 3 arguments, got \(ints.count)")
            }
            guard step != 0 else { throw TemplateError(.type, "range() arg 3 must not be zero") }
            let values = Array(stride(from: start, to: stop, by: step))
            guard values.count <= 100_000 else {
                throw TemplateError(
                    .security,
                    "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."
                )
            }
            return .list(values.map { .int($0) })
        case "strftime_now":
            guard case .string(let format)? = args.first else {
                throw TemplateError(.type, "strftime_now() needs a format string")
            }
            return .string(TemplateBuiltins.strftime(format, now))
        default:
            throw TemplateError(.type, "\(name)() is not available in chat templates")
        }
    }
}
