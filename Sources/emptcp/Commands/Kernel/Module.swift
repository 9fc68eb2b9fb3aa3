import ArgumentParser
import EmptcpApply
import EmptcpStore
import Foundation

extension Emptcp {
    struct Module: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "module",
            abstract: "Hot-plug operator BPF modules into free program-array slots of the running chains.",
            subcommands: [Add.self, List.self, Remove.self, Restore.self])

        /// One line on stderr; exit 2 for bad input (names, store validation), else 1.
        static func fail(_ command: String, _ error: Error) -> ExitCode {
            switch error {
            case let e as StoreError:
                FileHandle.standardError.write(Data("emptcp \(command): \(e)\n".utf8))
                return ExitCode(e.exitCode)
            case ModuleError.invalidName: return Kernel.usage(command, "\(error)")
            default: return Kernel.fail(command, error)
            }
        }

        /// Where module copies and verifier logs live: next to the database.
        static func manager(_ global: GlobalOptions) -> ModuleManager {
            let dbDirectory = (global.db as NSString).deletingLastPathComponent
            let base = dbDirectory.isEmpty ? "." : dbDirectory
            return ModuleManager(pinRoot: global.pinRoot, moduleDirectory: base + "/modules", logDirectory: base, logger: Kernel.logger())
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Verify FILE.o and plug its program into a free slot >= 16 without detaching anything.",
                discussion: """
                    The object is loaded with the shared map pin directory (<pin root>/maps), so maps it \
                    declares with LIBBPF_PIN_BY_NAME are emptcp's. A copy is kept next to the database \
                    for `apply --boot`. A verifier rejection saves the log next to the database.
                    """)
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The BPF object (one XDP program for --hook xdp, one SEC(\"tc\") program for --hook tc).")
            var file: String
            @Option(help: "xdp or tc.") var hook: Hook
            @Option(help: "The module's name, as policies name it.") var name: String
            @Option(help: "selector or actor.") var kind: ModuleKind = .actor

            func run() throws {
                do {
                    let store = try Kernel.store(global, logger: Kernel.logger())
                    let record = try Module.manager(global).add(objectPath: file, hook: hook, name: name, kind: kind, catalog: store)
                    Kernel.print("module \(record.name): \(record.kind.rawValue) on \(record.hook.rawValue), slot \(record.slot)")
                } catch {
                    throw Module.fail("module add", error)
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Modules in the store and whether the kernel holds them.")
            @OptionGroup var global: GlobalOptions
            @Flag(name: .long, help: "Print JSON.") var json = false

            func run() throws {
                do {
                    let store = try Kernel.store(global, logger: Kernel.logger())
                    let modules = try Module.manager(global).list(catalog: store)
                    if json {
                        Kernel.print(try Kernel.json(modules))
                        return
                    }
                    if modules.isEmpty { Kernel.print("no modules"); return }
                    for m in modules {
                        let state = m.loaded ? "loaded (prog \(m.programID.map(String.init) ?? "?"))" : "not loaded"
                        Kernel.print("\(m.name)\t\(m.hook.rawValue)\t\(m.kind.rawValue)\tslot \(m.slot)\t\(state)\t\(m.objectPath)")
                    }
                } catch {
                    throw Module.fail("module list", error)
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a module: refused while the current revision uses it; clears its slot and unpins it.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The module's name.") var name: String

            func run() throws {
                do {
                    let store = try Kernel.store(global, logger: Kernel.logger())
                    try Module.manager(global).remove(name: name, catalog: store)
                    Kernel.print("module \(name) removed")
                } catch {
                    throw Module.fail("module remove", error)
                }
            }
        }

        struct Restore: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Reload every recorded module the kernel does not hold into its recorded slot (after a reboot or detach).",
                discussion: "The same step `apply --boot` takes after re-attaching: ModuleManager.restore(catalog:).")
            @OptionGroup var global: GlobalOptions

            func run() throws {
                do {
                    let store = try Kernel.store(global, logger: Kernel.logger())
                    let restored = try Module.manager(global).restore(catalog: store)
                    Kernel.print(restored.isEmpty ? "nothing to restore"
                                 : restored.map { "module \($0.name): restored into slot \($0.slot)" }.joined(separator: "\n"))
                } catch {
                    throw Module.fail("module restore", error)
                }
            }
        }
    }
}

extension Hook: ExpressibleByArgument {}
extension ModuleKind: ExpressibleByArgument {}
