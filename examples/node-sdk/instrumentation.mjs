// @ts-check
// An app that sets up OpenTelemetry itself adds FenraSpanProcessor beside its own exporters
// (no register entry). Load it first: node --import ./instrumentation.mjs app.mjs
import { register } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FenraSpanProcessor } from '@fenra/otel';

// ES modules need the instrumentation loader hook (CommonJS apps do not).
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const fenra = new FenraSpanProcessor(); // FENRA_API_KEY etc. from the environment
/** @type {import('@opentelemetry/sdk-trace-base').SpanProcessor[]} */
const spanProcessors = [fenra];
// Your traces keep going where they went (here: OTLP, when an endpoint is configured).
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT)
  spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'node-sdk-example',
  spanProcessors,
  instrumentations: [new OpenAIInstrumentation()],
  metricReaders: [],
  logRecordProcessors: [],
});
sdk.start();

// Flush before exit: the SDK's shutdown flushes FenraSpanProcessor too.
let stopping = false;
process.on('beforeExit', () => {
  if (stopping) return;
  stopping = true;
  void sdk.shutdown().then(() => console.error('fenra:', JSON.stringify(fenra.stats().delivery)));
});
