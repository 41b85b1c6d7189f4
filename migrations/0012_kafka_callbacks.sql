-- Tencent's newer Kafka callbacks (`CallBackType` `Kafka`, `CallBackKafkaConfig`) are owed like
-- TDMQ ones: whatever the queue says.
CREATE OR REPLACE FUNCTION callback_due(request jsonb, notify jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(request->>'callback_type' IN ('TDMQ', 'Kafka'), false)
        OR coalesce(request->>'callback' <> 'no', notify->>'State' = 'On', false)
$$;
