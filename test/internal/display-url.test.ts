import { describe, expect, it } from 'vitest';
import { displayUrl, withoutUrlCredentials } from '../../src/internal/display-url.js';

describe('displayUrl: a URL without its credentials', () => {
  it.each([
    [
      'https://user:pass@ingest.example.com/usage/transactions',
      'https://ingest.example.com/usage/transactions',
    ],
    ['https://user@ingest.example.com/x', 'https://ingest.example.com/x'],
    ['https://h.example/x?token=abc123&region=eu', 'https://h.example/x?token=***&region=***'],
    [
      'https://h.example/x?api_key=s3cr3t&Key=k&sig=zz&password=pw&X-Amz-Signature=aa&access_token=t',
      'https://h.example/x?api_key=***&Key=***&sig=***&password=***&X-Amz-Signature=***&access_token=***',
    ],
    ['https://h.example/x#frag-secret', 'https://h.example/x'],
    ['http://127.0.0.1:4318/v1/traces', 'http://127.0.0.1:4318/v1/traces'],
    ['https://h.example/?q=a%20b', 'https://h.example/?q=***'],
    ['http://127.0.0.1:4318', 'http://127.0.0.1:4318'],
    ['ftp://x', 'ftp://x'],
    ['https://u:p@h.example', 'https://h.example/'],
  ])('%s', (input, shown) => {
    expect(displayUrl(input)).toBe(shown);
  });

  it('redacts text that is not a URL by pattern', () => {
    const shown = displayUrl('htps//bob:hunter2@host/x?token=abc&a=1 #x');
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('abc');
    expect(shown).toContain('a=1');
  });

  it('never throws', () => {
    for (const s of ['', '::', 'http://[', '%', 'a=b=c&token', '//@@@', 'x'.repeat(10_000)])
      expect(typeof displayUrl(s)).toBe('string');
  });
});

describe('withoutUrlCredentials: URLs inside a message', () => {
  it('shows every URL in a text without its credentials', () => {
    const text =
      'TypeError: Request cannot be constructed from a URL that includes credentials: http://u:hunter2@h.example/x, ' +
      'then https://h2.example/y?token=abc (and "https://plain.example/z")';
    const shown = withoutUrlCredentials(text);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('token=abc');
    expect(shown).toContain('http://h.example/x,');
    expect(shown).toContain('https://plain.example/z');
    expect(withoutUrlCredentials('no url here')).toBe('no url here');
  });
});
