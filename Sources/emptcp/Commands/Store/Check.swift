import ArgumentParser

extension Emptcp {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a policy file, print its diff against the current revision and the map writes it would make; write nothing.",
            discussion: """
                The same as `emptcp commit --check FILE`. Validation is the commit's (module names, \
                the kernel maps' capacity included); errors print as FILE:LINE: key: message and exit 2. \
                Map writes are planned against the attached data plane's maps when they can be read, \
                else against the current revision's; nothing is written anywhere, not even an audit row.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("Policy file.", valueName: "file")) var file: String

        func run() throws {
            try PolicyCheck(global: global).run(file: file, json: output.json)
        }
    }
}
