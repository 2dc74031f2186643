// Preloaded before the register entry: an app-owned tracer provider registered first.
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

trace.setGlobalTracerProvider(new BasicTracerProvider());
