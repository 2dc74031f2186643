// An app that does nothing (CommonJS, run under the register entry).
