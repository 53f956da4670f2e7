"""Server-side apply's field management, as upstream's structured-merge-diff and
k8s.io/apimachinery/pkg/util/managedfields do it: field sets (FieldsV1), the typed walks
(field set of an object, comparison, merge, removal) over a schema, and the updater that
tracks managedFields per manager and operation, merges applied configurations and refuses
conflicts. Pure: no store, no HTTP.

No maintained Python library implements structured merge (upstream's is Go only), so this
is podctl's own, following upstream's algorithms step for step.

- fieldset: path elements, paths, sets, FieldsV1 encoding, upstream's path strings.
- schema: the one schema lookup (`schema.type_for`) and its extension point
  (`schema.register`) for kinds the built-in OpenAPI does not describe (CRDs).
- typed: the walks of a value against a schema type.
- manager: managedFields entries, Update and Apply, conflicts.
"""
