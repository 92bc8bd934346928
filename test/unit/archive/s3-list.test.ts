import { describe, expect, it } from 'vitest'
import { parseListPage } from '../../../core/archive/s3-mirror'

const page = (contents: string, tail = '<IsTruncated>false</IsTruncated>') =>
  `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>events/</Prefix>
${tail}${contents}</ListBucketResult>`

describe('S3 ListObjectsV2 answers', () => {
  it('reads keys with entities and CDATA, sizes and quoted ETags', () => {
    const r = parseListPage(
      page(
        `<Contents><Key>events/tenant=a%26b/dt=2026-01-01/1-2.ndjson.gz</Key><Size>10</Size><ETag>&quot;abc&quot;</ETag></Contents>
<Contents><Key>x/&lt;odd&gt; &amp; &apos;name&apos;</Key><Size>0</Size><ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag></Contents>
<Contents><Key><![CDATA[cdata/<raw>&]]></Key><Size>7</Size></Contents>
<Contents><Key>0012</Key><Size>3</Size><ETag>"e"</ETag></Contents>`,
      ),
    )
    expect(r.objects).toEqual([
      { key: 'events/tenant=a%26b/dt=2026-01-01/1-2.ndjson.gz', size: 10, etag: 'abc' },
      { key: "x/<odd> & 'name'", size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e' },
      { key: 'cdata/<raw>&', size: 7, etag: '' },
      // A key that looks like a number stays the string it is.
      { key: '0012', size: 3, etag: 'e' },
    ])
    expect(r.next).toBeUndefined()
  })

  it('follows the continuation token of a truncated page; an empty page has no objects', () => {
    const r = parseListPage(
      page(
        '<Contents><Key>k</Key><Size>1</Size></Contents>',
        '<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>',
      ),
    )
    expect(r.next).toBe('1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=')
    expect(parseListPage(page('')).objects).toEqual([])
  })

  it('refuses answers that are not a listing instead of reading them as empty', () => {
    expect(() => parseListPage('<Error><Code>AccessDenied</Code></Error>')).toThrow(/not a ListBucketResult/)
    expect(() => parseListPage('<ListBucketResult><Contents><Key>k</Key></Contents>')).toThrow(/not XML/)
    expect(() => parseListPage(page('<Contents><Key>k</Key><Size>big</Size></Contents>'))).toThrow(
      /not a ListBucketResult/,
    )
    expect(() => parseListPage(page('', '<IsTruncated>true</IsTruncated>'))).toThrow(/NextContinuationToken/)
  })
})
