{#- Models land in the schema named in their folder config (staging, intermediate, marts), not
    in "<target schema>_<name>": the schemas are a published contract (docs/interfaces). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
