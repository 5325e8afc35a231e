// Test defaults: cheap password hashing (production uses OWASP's argon2id parameters),
// a fixed secret, quiet logs. A test file may still override any of them.
process.env.NODE_ENV = 'test'
process.env.JWT_SECRET ??= 'test-secret-test-secret-test-secret-0123456789'
process.env.PASSWORD_MEMORY_COST ??= '1024'
process.env.PASSWORD_TIME_COST ??= '1'
process.env.LOG_LEVEL ??= 'silent'
process.env.AUTH_RATE_LIMIT ??= '0'
process.env.WRITE_RATE_LIMIT ??= '0'
