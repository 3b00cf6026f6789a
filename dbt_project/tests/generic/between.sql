{#- A share or rate within [min, max] (nulls allowed: undefined ratios are null). -#}
{% test between(model, column_name, min=0, max=1) %}
select * from {{ model }} where {{ column_name }} < {{ min }} or {{ column_name }} > {{ max }}
{% endtest %}
