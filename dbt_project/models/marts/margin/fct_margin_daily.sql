-- Margin per day and offer / advertiser / category / source / publisher, with the change against
-- the previous day (macro margin_by_period).
{{ margin_by_period('day') }}
