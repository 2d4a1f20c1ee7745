import { hidePassword, parseRedisSpec, sharedCacheSpec } from '../../src/shared/redis-spec';

describe('shared_cache: where the Redis is', () => {
  test.each([
    ['redis://cache.example:6380/2', { tls: false, host: 'cache.example', port: 6380, db: 2 }],
    ['redis://cache.example', { tls: false, host: 'cache.example', port: 6379, db: 0 }],
    ['rediss://user:p%40ss@[2001:db8::6]:6379/1', { tls: true, host: '2001:db8::6', port: 6379, db: 1, username: 'user', password: 'p@ss' }],
    ['unix:/run/redis/redis.sock?db=3', { tls: false, path: '/run/redis/redis.sock', db: 3 }],
    ['unix:///run/redis/redis.sock', { tls: false, path: '/run/redis/redis.sock', db: 0 }],
    [
      'redis-sentinel://:p%40ss@s1.example:26380,s2.example,[2001:db8::7]:26381/mx4map/2',
      {
        tls: false,
        sentinels: [
          { host: 's1.example', port: 26380 },
          { host: 's2.example', port: 26379 },
          { host: '2001:db8::7', port: 26381 },
        ],
        masterName: 'mx4map',
        db: 2,
        password: 'p@ss',
      },
    ],
    ['redis-sentinel://127.0.0.1:26379/mymaster', { tls: false, sentinels: [{ host: '127.0.0.1', port: 26379 }], masterName: 'mymaster', db: 0 }],
  ])('%s', (text, spec) => {
    expect(parseRedisSpec(text)).toEqual(spec);
  });

  test.each([
    ['http://cache.example', /use redis:\/\/, rediss:\/\/, redis-sentinel:\/\/ or unix:/],
    ['redis-sentinel://s1.example:26379', /is not redis-sentinel:\/\/host:port\[,host:port…\]\/master/],
    ['redis-sentinel://s1.example:99999/mymaster', /"s1.example:99999" is not a sentinel host\[:port\]/],
    ['redis-sentinel://s1.example/mymaster/16', /database "16"/],
    ['redis://cache.example/16', /database "16": a number from 0 to 15/],
    ['unix:run/redis.sock', /absolute path/],
    ['cache.example:6379', /use redis:\/\/, rediss:\/\/, redis-sentinel:\/\/ or unix:/],
    ['redis://:secret@', /is not redis:\/\/host:port\/db/],
  ])('%s is refused, naming what is wrong', (text, message) => {
    expect(() => parseRedisSpec(text)).toThrow(message);
  });

  test('a password in the text is never shown, in messages or the effective configuration', () => {
    expect(hidePassword('redis://:secret@cache.example:6379/0')).toBe('redis://:***@cache.example:6379/0');
    expect(hidePassword('redis-sentinel://:secret@s1.example,s2.example/mymaster')).toBe('redis-sentinel://:***@s1.example,s2.example/mymaster');
    expect(sharedCacheSpec.show(sharedCacheSpec.parse('rediss://user:secret@cache.example/0'))).toBe('rediss://user:***@cache.example/0');
    expect(() => sharedCacheSpec.parse('ftp://user:secret@cache.example')).toThrow(/^(?!.*secret)/);
  });
});
