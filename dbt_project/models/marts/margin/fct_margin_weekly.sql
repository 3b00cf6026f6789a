-- Margin per week and offer / advertiser / category / source / publisher, with the change against
-- the previous week (macro margin_by_period).
{{ margin_by_period('week') }}
