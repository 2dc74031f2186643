// An app that does nothing (run under the register entry).
