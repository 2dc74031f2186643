import { describe, expect, it } from 'vitest';
import { scanAttributes } from '../../src/genai/attribute-scan.js';
import { chooseModel, normaliseModelId, readRegion } from '../../src/genai/model.js';

describe('normaliseModelId', () => {
  it.each([
    ['gpt-4o-2024-08-06', 'gpt-4o-2024-08-06'],
    ['projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['publishers/google/models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['models/gemini-2.0-flash', 'gemini-2.0-flash'],
    ['us.anthropic.claude-sonnet-4-20250514-v1:0', 'us.anthropic.claude-sonnet-4-20250514-v1:0'],
    ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0'],
    [
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0',
      'us.anthropic.claude-3-haiku-20240307-v1:0',
    ],
    [
      'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123',
      'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123',
    ],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet-v2@20241022'],
    ['  ', undefined],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseModelId(raw)).toBe(expected);
  });
});

describe('chooseModel', () => {
  it('prefers the response model', () => {
    expect(chooseModel({ request: 'gpt-4o', response: 'gpt-4o-2024-08-06' }, 'openai', undefined)).toBe(
      'gpt-4o-2024-08-06',
    );
  });
  it('falls back to the request model', () => {
    expect(chooseModel({ request: 'gpt-4o', response: undefined }, 'openai', undefined)).toBe('gpt-4o');
  });
  it('maps an Azure deployment through configuration when there is no response model', () => {
    expect(
      chooseModel({ request: 'prod-chat', response: undefined }, 'azure.ai.openai', {
        'prod-chat': 'gpt-4o',
      }),
    ).toBe('gpt-4o');
  });
  it('prefers the Azure response model over the deployment map', () => {
    expect(
      chooseModel({ request: 'prod-chat', response: 'gpt-4o-2024-11-20' }, 'azure.ai.openai', {
        'prod-chat': 'gpt-4o',
      }),
    ).toBe('gpt-4o-2024-11-20');
  });
});

describe('readRegion', () => {
  it('reads cloud.region, then the ARN, then the resource', () => {
    expect(readRegion(scanAttributes({ 'cloud.region': 'eu-west-1' }), {}, undefined)).toBe('eu-west-1');
    expect(readRegion(scanAttributes({}), {}, 'arn:aws:bedrock:us-west-2:1:inference-profile/us.x')).toBe(
      'us-west-2',
    );
    expect(readRegion(scanAttributes({}), { 'cloud.region': 'ap-south-1' }, 'x')).toBe('ap-south-1');
  });
});
