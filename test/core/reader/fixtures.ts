/** Small export fixtures for the reader tests (format §1.3, §2.1, §5.7). */

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A shortened v13 subset in Apple's shape, with the VisionPrescription declarations of format §2.1. */
export function dtd(variant: 'valid' | 'unclosed-attlist' | 'missing-gt' | 'extra-gt' = 'valid'): string {
  const visionAttlistClose = variant === 'unclosed-attlist' ? '' : '>\n';
  const lastClose = variant === 'missing-gt' ? '\n' : '>\n';
  const extra = variant === 'extra-gt' || variant === 'unclosed-attlist' ? '>\n' : '';
  return (
    '<!DOCTYPE HealthData [\n' +
    '<!-- HealthKit Export Version: 13 -->\n' +
    '<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>\n' +
    '<!ATTLIST HealthData\n  locale CDATA #REQUIRED\n>\n' +
    '<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>\n' +
    '<!ATTLIST Record\n  type          CDATA #REQUIRED\n  unit          CDATA #IMPLIED\n  value         CDATA #IMPLIED\n>\n' +
    '<!ELEMENT VisionPrescription ((RightEye|LeftEye|Attachment|MetadataEntry)*)>\n' +
    '<!ATTLIST VisionPrescription\n  type           CDATA #REQUIRED\n  dateIssued     CDATA #REQUIRED\n' +
    visionAttlistClose +
    '<!ELEMENT RightEye EMPTY>\n' +
    '<!ATTLIST RightEye\n  sphere CDATA #IMPLIED\n' +
    lastClose +
    extra +
    ']>\n'
  );
}

export const BODY =
  '<HealthData locale="en_US">\n' +
  ' <ExportDate value="2025-01-05 10:02:17 -0800"/>\n' +
  ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1988-04-02" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n' +
  ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Dana’s Apple Watch" device="&lt;&lt;HKDevice: 0x2835c1e50&gt;, name:Apple Watch, hardware:Watch6,2&gt;" unit="count/min" startDate="2024-02-11 07:01:58 -0800" endDate="2024-02-11 07:01:58 -0800" value="64">\n' +
  '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>\n' +
  ' </Record>\n' +
  ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="🕛🕐🕑🕒" unit="count" startDate="2024-02-11 07:11:31 -0800" endDate="2024-02-11 07:12:44 -0800" value="12"/>\n' +
  ' <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="MyFitnessPal" startDate="2024-02-12 12:30:00 -0800" endDate="2024-02-12 12:30:00 -0800">\n' +
  '  <MetadataEntry key="Withings Link" value="withings-app://timeline/measure?userid=4711&amp;date=1707748247&#x2019;&#128512;"/>\n' +
  '  <Record type="HKQuantityTypeIdentifierDietaryProtein" sourceName="MyFitnessPal" unit="g" value="31.5"/>\n' +
  ' </Correlation>\n' +
  ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="42.51318" durationUnit="min" sourceName="Dana’s Apple Watch">\n' +
  '  <MetadataEntry key="HKAverageMETs" value="10.8812 kcal/hr·kg"/>\n' +
  '  <WorkoutActivity uuid="5F0C2B9E" startDate="2024-02-11 18:02:40 -0800">\n' +
  '   <WorkoutStatistics type="HKQuantityTypeIdentifierRunningPower" average="231" unit="W"/>\n' +
  '  </WorkoutActivity>\n' +
  '  <!-- a comment --><?pi data?><![CDATA[ <not a tag> ]]>\n' +
  ' </Workout>\n' +
  ' <ActivitySummary dateComponents="2024-02-11" activeEnergyBurned="612.408"/>\n' +
  '</HealthData>\n';

/** A complete, valid export. */
export function exportXml(variant: Parameters<typeof dtd>[0] = 'valid', body = BODY): string {
  return XML_DECL + dtd(variant) + body;
}
