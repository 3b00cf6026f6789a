-- Margin per month and offer / advertiser / category / source / publisher, with the change against
-- the previous month (macro margin_by_period).
{{ margin_by_period('month') }}
