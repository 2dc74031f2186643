// Setup 1, CommonJS.
const { FenraSpanProcessor } = require('@fenra/otel');
new FenraSpanProcessor();
