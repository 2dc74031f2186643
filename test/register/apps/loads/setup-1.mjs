// Setup 1: the app imports @fenra/otel and builds the processor; nothing is billed yet.
import { FenraSpanProcessor } from '@fenra/otel';
new FenraSpanProcessor();
