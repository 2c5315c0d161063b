"""YAML → validated `Config`: the spec (`spec`), the loader with file:line:col problems
(`loader`), env interpolation, formatting and the schema. Import the module you need:
nothing is imported here, so the planner can use `spec` without loading a YAML parser.
"""
