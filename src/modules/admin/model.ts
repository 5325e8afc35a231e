import { t } from 'elysia'

export const AdminUserPatch = t.Object(
  {
    role: t.Optional(t.Union([t.Literal('user'), t.Literal('admin')], { error: 'role must be user or admin' })),
    disabled: t.Optional(t.Boolean({ error: 'disabled must be true or false' })),
  },
  { additionalProperties: false },
)
